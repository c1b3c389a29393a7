"""One server per data dir: a non-blocking file lock with the holder's pid beside it."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from filelock import FileLock, Timeout

from tlh.errors import StoreLocked

LOCK_NAME = "tlh.lock"
PID_NAME = "tlh.lock.pid"


class DataDirLock:
    """The lock of one data dir. ``acquire()`` never waits: a second holder is refused."""

    def __init__(self, data_dir: Path | str) -> None:
        self.data_dir = Path(data_dir)
        # thread_local=False: open() takes the lock in a worker thread, close() frees it
        # on the event loop thread.
        self._lock = FileLock(self.data_dir / LOCK_NAME, timeout=0, thread_local=False)
        self._pid_file = self.data_dir / PID_NAME

    @property
    def held(self) -> bool:
        """Whether this object holds the lock."""
        return bool(self._lock.is_locked)

    def acquire(self) -> None:
        """Take the lock or raise ``StoreLocked`` naming the holder's pid."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        try:
            self._lock.acquire(blocking=False)
        except Timeout:
            pid = "unknown"
            with contextlib.suppress(OSError):
                pid = self._pid_file.read_text().strip() or "unknown"
            raise StoreLocked(
                f"data dir {self.data_dir} is in use by another tlh server (pid {pid})"
            ) from None
        self._pid_file.write_text(f"{os.getpid()}\n")

    def release(self) -> None:
        """Let another server take the data dir."""
        if self._lock.is_locked:
            with contextlib.suppress(OSError):
                self._pid_file.unlink()
            self._lock.release()

    def __enter__(self) -> DataDirLock:
        self.acquire()
        return self

    def __exit__(self, *_: object) -> None:
        self.release()
