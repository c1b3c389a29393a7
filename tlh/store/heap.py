"""Giving memory a worker thread freed back to the system (glibc's ``malloc_trim``).

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
