"""Network namespaces for the real-network suite: a server, a NAT router and a client.

    server ns ── veth ── router ns (nftables masquerade) ── veth ── client ns
    203.0.113.1 (tlh)     203.0.113.2 | 10.0.0.1                      10.0.0.2
    203.0.113.3 (coturn)

The "public" side uses TEST-NET-3 addresses, which coturn's denied private ranges leave
alone; the client sits behind the router's NAT in 10.0.0.0/24 as a phone on a home or
carrier network does. Every command is bounded; ``close`` removes the namespaces (their
veths and nft tables go with them) and is safe to call after a half-built setup.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import subprocess
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

T = TypeVar("T")

SERVER_IP = "203.0.113.1"
TURN_IP = "203.0.113.3"
ROUTER_PUBLIC_IP = "203.0.113.2"
ROUTER_PRIVATE_IP = "10.0.0.1"
CLIENT_IP = "10.0.0.2"
_CLONE_NEWNET = 0x40000000
#: Seconds any one ip/nft command may take.
COMMAND_S = 10.0


class NotPermitted(Exception):
    """Namespaces cannot be made here (not root, no ip/nft, a container without them)."""


def run(*argv: str) -> str:
    """Run a command (bounded); its stdout, or ``RuntimeError`` with what it said."""
    done = subprocess.run(argv, capture_output=True, text=True, timeout=COMMAND_S, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)}: {done.stderr.strip() or done.returncode}")
    return done.stdout


def why_not() -> str | None:
    """Why namespaces cannot be used here, or ``None`` when they can."""
    if os.geteuid() != 0:
        return "network namespaces need root (ip netns)"
    for tool in ("ip", "nft"):
        if shutil.which(tool) is None:
            return f"{tool} is missing (apt-get install iproute2 nftables)"
    probe = f"tlhprobe{os.getpid()}"
    try:
        run("ip", "netns", "add", probe)
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
        return f"ip netns add is not permitted here: {exc}"
    try:
        run("ip", "netns", "exec", probe, "nft", "list", "tables")
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
        return f"nftables cannot run in a namespace here: {exc}"
    finally:
        with contextlib.suppress(Exception):
            run("ip", "netns", "del", probe)
    return None


@dataclass
class Topology:
    """The three namespaces, named after this process so runs side by side never meet."""

    tag: str = field(default_factory=lambda: str(os.getpid() % 100000))
    made: list[str] = field(default_factory=list)

    @property
    def server(self) -> str:
        return f"tlhsrv{self.tag}"

    @property
    def router(self) -> str:
        return f"tlhnat{self.tag}"

    @property
    def client(self) -> str:
        return f"tlhcli{self.tag}"

    def ns(self, name: str, *argv: str) -> str:
        """Run ``argv`` inside namespace ``name``."""
        return run("ip", "netns", "exec", name, *argv)

    def build(self) -> None:
        """Make the namespaces, links, addresses, routes and the NAT."""
        for name in (self.server, self.router, self.client):
            run("ip", "netns", "add", name)
            self.made.append(name)
            self.ns(name, "ip", "link", "set", "lo", "up")
        t = self.tag
        run("ip", "link", "add", f"s{t}", "netns", self.server, "type", "veth",
            "peer", "name", f"r{t}", "netns", self.router)  # fmt: skip
        run("ip", "link", "add", f"c{t}", "netns", self.client, "type", "veth",
            "peer", "name", f"p{t}", "netns", self.router)  # fmt: skip
        self.ns(self.server, "ip", "addr", "add", f"{SERVER_IP}/24", "dev", f"s{t}")
        self.ns(self.server, "ip", "addr", "add", f"{TURN_IP}/24", "dev", f"s{t}")
        self.ns(self.router, "ip", "addr", "add", f"{ROUTER_PUBLIC_IP}/24", "dev", f"r{t}")
        self.ns(self.router, "ip", "addr", "add", f"{ROUTER_PRIVATE_IP}/24", "dev", f"p{t}")
        self.ns(self.client, "ip", "addr", "add", f"{CLIENT_IP}/24", "dev", f"c{t}")
        for name, dev in ((self.server, f"s{t}"), (self.router, f"r{t}"),
                          (self.router, f"p{t}"), (self.client, f"c{t}")):  # fmt: skip
            self.ns(name, "ip", "link", "set", dev, "up")
        self.ns(self.client, "ip", "route", "add", "default", "via", ROUTER_PRIVATE_IP)
        self.ns(self.router, "sysctl", "-qw", "net.ipv4.ip_forward=1")
        self.nft(
            "table ip tlhnat {\n"
            " chain postnat { type nat hook postrouting priority srcnat; policy accept;\n"
            f'  oifname "r{t}" masquerade\n }}\n'
            " chain filt { type filter hook forward priority filter; policy accept; }\n"
            "}\n"
        )

    def nft(self, script: str) -> None:
        """Load an nft script in the router's namespace."""
        done = subprocess.run(
            ["ip", "netns", "exec", self.router, "nft", "-f", "-"],
            input=script,
            capture_output=True,
            text=True,
            timeout=COMMAND_S,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"nft: {done.stderr.strip()}")

    def block(self, *rules: str) -> None:
        """Drop what ``rules`` match on its way through the router (replacing any before)."""
        body = "".join(f"  {r} drop\n" for r in rules)
        self.nft(f"flush chain ip tlhnat filt\ntable ip tlhnat {{\n chain filt {{\n{body} }}\n}}\n")

    def unblock(self) -> None:
        """Let everything through the router again."""
        self.nft("flush chain ip tlhnat filt\n")

    def close(self) -> None:
        """Remove every namespace made (their veths and nft tables go with them)."""
        for name in reversed(self.made):
            with contextlib.suppress(Exception):
                run("ip", "netns", "del", name)
        self.made.clear()


def in_namespace(name: str, work: Callable[[], T], timeout_s: float = 30.0) -> T:
    """Run ``work`` in a thread that joined namespace ``name`` (its sockets are made there)."""
    found: list[T] = []
    failed: list[BaseException] = []

    def body() -> None:
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            with open(f"/run/netns/{name}", "rb") as handle:
                if libc.setns(handle.fileno(), _CLONE_NEWNET) != 0:
                    raise OSError(ctypes.get_errno(), "setns failed")
            found.append(work())
        except BaseException as exc:  # handed to the caller's thread
            failed.append(exc)

    thread = threading.Thread(target=body, name=f"netns-{name}", daemon=True)
    thread.start()
    thread.join(timeout_s)
    if thread.is_alive():
        raise TimeoutError(f"work in namespace {name} took over {timeout_s} s")
    if failed:
        raise failed[0]
    return found[0]
