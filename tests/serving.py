"""A ``tlh serve`` child process as tests and benches run it: a free port, waiting until
it answers ``/healthz``, and stopping it the way Ctrl-C does."""

from __future__ import annotations

import contextlib
import signal
import socket
import ssl
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any


def free_port() -> int:
    """A TCP port free on loopback now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_healthy(
    url: str,
    proc: subprocess.Popen[Any],
    *,
    log: Path | None = None,
    context: ssl.SSLContext | None = None,
    timeout_s: float = 30.0,
) -> None:
    """Return once ``url`` answers ``/healthz``; fail with the server's own words (its
    ``log`` file, else its stderr pipe) if it exits first or never answers."""
    deadline = time.monotonic() + timeout_s
    while True:
        if proc.poll() is not None:
            said = log.read_text(errors="replace") if log else proc.communicate()[1]
            raise AssertionError(f"tlh serve exited with {proc.returncode}: {said!s:.2000}")
        with (
            contextlib.suppress(OSError),
            urllib.request.urlopen(f"{url}/healthz", timeout=1, context=context) as r,
        ):
            if r.status == 200:
                return
        assert time.monotonic() < deadline, f"tlh serve did not become healthy in {timeout_s} s"
        time.sleep(0.05)  # polling a port that is not open yet, bounded by the deadline


def stop(proc: subprocess.Popen[Any], timeout_s: float = 20.0) -> None:
    """SIGINT (a clean stop: the journal is folded into the files), then kill if it hangs."""
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
