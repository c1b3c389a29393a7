"""Debian's HAProxy in front of several ``tlh serve``, as a practice runs them.

The configuration is the one the README's "More than one server" gives (health checks on
``/readyz``, websockets kept open, the client's address passed on), written to a temp
dir with free loopback ports; HAProxy runs in the foreground (``-db``) and is stopped
after, never as the system service.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

from tests.serving import free_port

HINT = "the tests need Debian's HAProxy: apt-get install haproxy (make test does)"


#: The recipe the README gives (config/proxy/haproxy.cfg).
RECIPE = Path(__file__).resolve().parents[1] / "config" / "proxy" / "haproxy.cfg"


def haproxy_config(port: int, backends: Sequence[tuple[str, int]]) -> str:
    """The README's recipe on loopback: plain http on ``port`` (no certificate in a
    test) and one server line per ``(name, port)``; everything else as shipped."""
    out: list[str] = []
    for line in RECIPE.read_text().splitlines():
        stripped = line.strip()
        if stripped.startswith("bind :80"):
            out.append(f"  bind 127.0.0.1:{port}")
        elif stripped.startswith(("bind :443", "http-request redirect scheme https")):
            continue
        elif stripped.startswith("server "):
            if not any(o.strip().startswith("server ") for o in out):
                out += [f"  server {name} 127.0.0.1:{p} check" for name, p in backends]
        else:
            out.append(line)
    return "\n".join(out) + "\n"


class Balancer:
    """One HAProxy; ``url`` is where clients, pages and the CLI go."""

    def __init__(self, backends: Sequence[tuple[str, int]], port: int | None = None) -> None:
        binary = shutil.which("haproxy") or "/usr/sbin/haproxy"
        if not Path(binary).exists():
            raise RuntimeError(f"haproxy not found; {HINT}")
        self.binary = binary
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.root = Path(tempfile.mkdtemp(prefix="tlh-haproxy-"))
        self.config = self.root / "haproxy.cfg"
        self.config.write_text(haproxy_config(self.port, backends))
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout_s: float = 10.0) -> None:
        checked = subprocess.run(
            [self.binary, "-c", "-q", "-f", str(self.config)],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        if checked.returncode != 0:
            raise RuntimeError(f"haproxy refused its config: {checked.stderr.strip()}")
        log = (self.root / "haproxy.log").open("wb")
        self.proc = subprocess.Popen(
            [self.binary, "-db", "-f", str(self.config)], stdout=log, stderr=log
        )
        deadline = time.monotonic() + timeout_s
        while True:
            if self.proc.poll() is not None:
                said = (self.root / "haproxy.log").read_text(errors="replace")
                raise RuntimeError(f"haproxy exited with {self.proc.returncode}: {said[-800:]}")
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5),
            ):
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"haproxy did not listen on {self.port} in {timeout_s} s")
            time.sleep(0.05)  # polling a port that is not open yet, bounded by the deadline

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.root, ignore_errors=True)


@contextlib.contextmanager
def balancing(backends: Sequence[tuple[str, int]], port: int | None = None) -> Iterator[Balancer]:
    """HAProxy over ``backends`` (on ``port``, else a free one) until the block ends."""
    balancer = Balancer(backends, port)
    try:
        balancer.start()
        yield balancer
    finally:
        balancer.stop()
