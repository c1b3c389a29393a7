"""A ``tlh serve`` child process as tests and benches run it: a free port, waiting until
it answers ``/healthz``, and stopping it the way Ctrl-C does."""

from __future__ import annotations

import contextlib
import random
import signal
import socket
import ssl
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

#: Where the kernel picks the local ports of outgoing connections (Linux's default).
EPHEMERAL_DEFAULT = (32768, 60999)
#: The lowest port ``free_port`` picks from, clear of the well-known services.
LOWEST = 10000


def ephemeral_range() -> tuple[int, int]:
    """The kernel's range for the local port of an outgoing connection."""
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return EPHEMERAL_DEFAULT


def free_port(kind: socket.SocketKind = socket.SOCK_STREAM) -> int:
    """A loopback port free now, outside the kernel's ephemeral range where it can.

    A server restarted on the port it had (as the kill tests do) must find it free. A
    port the kernel also hands out for outgoing connections may not be: any connection
    meanwhile may take it as its local port, and a poll of the port while nothing
    listens there can connect to itself (TCP's simultaneous open) and hold it; the
    restart then fails with "already in use"."""
    low, high = ephemeral_range()
    ports = [p for p in range(LOWEST, 65536) if not low <= p <= high]
    for port in random.Random().sample(ports, min(64, len(ports))):
        with socket.socket(socket.AF_INET, kind) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    with socket.socket(socket.AF_INET, kind) as s:
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
            said = str(log.read_text(errors="replace") if log else proc.communicate()[1])
            # The end says why it stopped; a long log's start is an earlier run's traffic.
            raise AssertionError(f"tlh serve exited with {proc.returncode}: ...{said[-3000:]}")
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
