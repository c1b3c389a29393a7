"""``tlh.store.heap.one_arena``: the server's worker threads allocate from the main heap,
not each from one of their own (glibc)."""

from __future__ import annotations

import subprocess
import sys

import pytest

#: Four threads each hold 200 blocks of 10 kB (above the interpreter's small-object
#: allocator, below glibc's mmap threshold: from a glibc heap), then glibc prints one
#: "Arena N:" section per heap on stderr.
PROGRAM = """
import ctypes, sys, threading
from tlh.store import heap
if sys.argv[1] == "one":
    assert heap.one_arena()
held = []
def work():
    held.append([bytes(10_000) + bytes([n % 256]) for n in range(200)])
threads = [threading.Thread(target=work) for _ in range(4)]
for t in threads:
    t.start()
for t in threads:
    t.join()
ctypes.CDLL(None).malloc_stats()
"""


def arenas(mode: str) -> int:
    done = subprocess.run(
        [sys.executable, "-c", PROGRAM, mode], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return sum(line.startswith("Arena ") for line in done.stderr.splitlines())


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's heaps")
def test_worker_threads_share_the_main_heap() -> None:
    assert arenas("default") > 1  # (the check can see more than one)
    assert arenas("one") == 1
