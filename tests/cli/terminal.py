"""A real program in a pseudo-terminal: what it draws, read back with deadlines.

Used where the behaviour depends on a terminal being there (``tlh demo`` opens the
dashboard only on a tty; the dashboard benchmark times the first frame). The output is
drained continuously, so a chatty program never blocks on a full pty buffer.
"""

from __future__ import annotations

import fcntl
import os
import re
import select
import struct
import subprocess
import termios
import time
from collections.abc import Sequence
from pathlib import Path

#: Escape sequences (CSI, OSC, two-byte) removed from the text searched by ``wait_for``.
ESCAPES = re.compile(rb"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[@-Z\\-_])")


class Terminal:
    """``argv`` started on the slave side of a fresh pty of ``cols`` x ``rows``."""

    def __init__(
        self,
        argv: Sequence[str],
        env: dict[str, str],
        cols: int = 120,
        rows: int = 40,
        cwd: Path | None = None,
    ) -> None:
        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(
            list(argv),
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env={**env, "TERM": "xterm-256color", "COLUMNS": str(cols), "LINES": str(rows)},
            start_new_session=True,
            cwd=cwd,
        )
        os.close(slave)
        self.master = master
        self.raw = bytearray()

    def text(self) -> str:
        """Everything drawn so far, escape sequences removed."""
        return ESCAPES.sub(b"", bytes(self.raw)).decode("utf-8", "replace")

    def pump(self, timeout: float) -> bool:
        """Read what is ready within ``timeout``; False once the program closed the pty."""
        ready, _, _ = select.select([self.master], [], [], max(timeout, 0.0))
        if not ready:
            return True
        try:
            chunk = os.read(self.master, 65536)
        except OSError:  # EIO: every slave fd is closed
            return False
        self.raw += chunk
        return bool(chunk)

    def wait_for(self, pattern: str, within: float) -> float:
        """Seconds since start when ``pattern`` (a regex) first appears on screen."""
        found = re.compile(pattern)
        deadline = time.perf_counter() + within
        while not found.search(self.text()):
            left = deadline - time.perf_counter()
            if left <= 0 or not self.pump(min(left, 0.05)):
                tail = self.text()[-400:]
                raise TimeoutError(f"{pattern!r} not on screen within {within} s; last: {tail!r}")
        return time.perf_counter() - self.started

    def write(self, keys: str) -> None:
        os.write(self.master, keys.encode())

    def wait_exit(self, within: float) -> int:
        """Drain the pty until the program exits; its return code."""
        deadline = time.perf_counter() + within
        while self.proc.poll() is None and time.perf_counter() < deadline:
            self.pump(0.05)
        return self.proc.wait(timeout=max(deadline - time.perf_counter(), 0.1))

    def close(self) -> None:
        """Kill the program if it still runs; free the pty."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        os.close(self.master)
