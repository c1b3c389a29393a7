"""Giving memory a worker thread freed back to the system (glibc's ``malloc_trim``), and
one heap for every thread of the server (``one_arena``).

A checkpoint encodes and seals whole tables in a worker thread. glibc gives each thread
its own heap ("arena"): what that work took stays mapped in that arena once freed, and
the event loop's thread never reuses it (seen: the checkpoint thread's arena grew from
3.5 to 6.2 MB, 3.4 MB of it free, while 1,000 pages said hello). ``trim`` hands the free
pages back; in ``bench/bench_room_ws.py``'s 1,000-page case, whose hellos take a
checkpoint, the server ends about 0.2 MB lower (19.9 kB per waiting connection in three
runs, 20.0-20.2 before). Elsewhere (macOS, musl) there is no such call: nothing is done.
"""

from __future__ import annotations

import ctypes
import sys
from collections.abc import Callable
from functools import cache


@cache
def _malloc_trim() -> Callable[[int], int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        found: Callable[[int], int] = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):
        return None
    return found


def trim() -> bool:
    """Return the free memory of every heap to the system (blocking: call it in a
    worker thread); whether anything was given back."""
    malloc_trim = _malloc_trim()
    return bool(malloc_trim(0)) if malloc_trim is not None else False


#: ``mallopt``'s parameter for the most heaps ("arenas") glibc makes (``malloc.h``).
M_ARENA_MAX = -8


def one_arena() -> bool:
    """Make every thread of this process allocate from the main heap (glibc's
    ``M_ARENA_MAX`` 1); whether it was set. For a server, before its threads start.

    Each worker thread (a start-up's loading, a checkpoint's encoding, a month read from
    disk) otherwise gets a heap of its own, where what it freed stays mapped beside the
    main one's free memory. The interpreter's lock already lets one thread allocate at a
    time, so sharing the heap costs no waiting. Measured with ``tlh serve`` at a month's
    end (``bench/history_memory.py``): 120 MB resident at 10,000 appointments stored, was
    124; 174 MB at a million, was 185."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(M_ARENA_MAX, 1))
