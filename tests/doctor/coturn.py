"""Debian's coturn for tests: on loopback with the authentication a test chooses, started
in the foreground and stopped with the test (tests/doctor, and tests/netns in a namespace)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pytest

#: Long-term credentials u / p (a fixed username and password).
FIXED = ("--lt-cred-mech", "--user=u:p")


def secret_auth(secret: str) -> tuple[str, ...]:
    """The TURN REST API scheme: credentials minted from ``secret`` (``use-auth-secret``)."""
    return ("--use-auth-secret", f"--static-auth-secret={secret}")


def turnserver() -> str:
    """The coturn binary, or the test fails saying how to get it."""
    binary = shutil.which("turnserver")
    if binary is None:
        pytest.fail("coturn is missing: make test installs it (apt-get install coturn)")
    return binary


def wait_listening(
    proc: subprocess.Popen[bytes], host: str, port: int, timeout_s: float = 10.0
) -> None:
    """Return once ``host:port`` accepts TCP (bounded), failing if coturn exits first."""
    deadline = time.monotonic() + timeout_s
    while True:  # ready when its TCP listener accepts (bounded by the deadline)
        with socket.socket() as probe:
            if probe.connect_ex((host, port)) == 0:
                return
        assert proc.poll() is None, "coturn exited at start"
        assert time.monotonic() < deadline, "coturn did not start listening"
        time.sleep(0.05)  # polling for a port to open, not synchronising with tlh


@contextmanager
def coturn(tmp_path: Path, port: int, auth: Sequence[str] = FIXED) -> Iterator[int]:
    """coturn on 127.0.0.1:``port`` (UDP and TCP, no TLS) until the block ends."""
    proc = subprocess.Popen(
        [
            turnserver(),
            "-n",
            "--listening-ip=127.0.0.1",
            "--relay-ip=127.0.0.1",
            f"--listening-port={port}",
            *auth,
            "--realm=tlh.test",
            "--no-tls",
            "--no-dtls",
            "--no-cli",
            "--log-file=stdout",
            "--simple-log",
            f"--pidfile={tmp_path / 'turn.pid'}",
            "--min-port=49152",
            "--max-port=49300",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_listening(proc, "127.0.0.1", port)
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=10)
