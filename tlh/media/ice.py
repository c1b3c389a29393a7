"""ICE configuration for tlh's aiortc peers: explicit servers, and loopback when needed.

Two measured traps shape this file:

- aiortc's default configuration points at a public STUN server; offline, gathering
  then stalls ~5 s. Every tlh peer passes its ICE servers explicitly (default: none,
  host candidates only), as the server hands them out in the ``admitted`` frame.
- aioice's ``get_host_addresses`` leaves 127.0.0.1 out of the host candidates, so two
  peers on a loopback-only network (tests, a laptop demo with no network) never meet.
  When the tlh server itself is on loopback, every participant reached it through
  loopback and therefore runs on this machine: offering 127.0.0.1 alone is enough,
  and one candidate pair also connects fastest. The choice is a context variable
  read by a thin wrapper around aioice's function, so it applies only to the peers of
  the task that asked for it (a server's other peers keep aioice's behaviour).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar
from urllib.parse import urlsplit

from aiortc import RTCConfiguration, RTCIceServer

from tlh.net import is_loopback

T = TypeVar("T")

#: Whether peers gathering in this context offer 127.0.0.1 only.
_LOOPBACK_ONLY: ContextVar[bool] = ContextVar("tlh_loopback_only", default=False)
_installed = False


def is_loopback_url(url: str) -> bool:
    """Whether the server at ``url`` listens on a loopback address (or ``localhost``)."""
    return is_loopback(urlsplit(url).hostname or "")


def install_loopback_candidates() -> None:
    """Wrap aioice's host-address lookup once so a context can ask for loopback only.

    aioice calls the module-level ``get_host_addresses`` by name from
    ``Connection.gather_candidates``, so replacing it on the module is enough.
    """
    global _installed  # a one-time patch of a third-party module, not live state
    if _installed:
        return
    import aioice.ice

    original = aioice.ice.get_host_addresses

    def host_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
        if _LOOPBACK_ONLY.get():
            return ["127.0.0.1"] if use_ipv4 else ["::1"]
        return original(use_ipv4, use_ipv6)

    aioice.ice.get_host_addresses = host_addresses
    _installed = True


@contextmanager
def loopback_only(on: bool) -> Iterator[None]:
    """Within this block (this task's context), peers gather loopback candidates only."""
    install_loopback_candidates()
    token = _LOOPBACK_ONLY.set(on)
    try:
        yield
    finally:
        _LOOPBACK_ONLY.reset(token)


async def gathering(on: bool, step: Callable[[], Awaitable[T]]) -> T:
    """Run ``step`` (e.g. ``setLocalDescription``, which gathers) with loopback set."""
    with loopback_only(on):
        return await step()


def ice_servers(raw: Sequence[Mapping[str, Any]] | None) -> list[RTCIceServer]:
    """``RTCIceServer`` objects from the API's ``ice_servers`` (browser dict shape).

    Malformed entries are skipped: a bad TURN entry must not stop a host-only call.
    """
    servers: list[RTCIceServer] = []
    for entry in raw or ():
        urls = entry.get("urls")
        if isinstance(urls, str):
            urls = [urls]
        if not isinstance(urls, list) or not all(isinstance(u, str) for u in urls):
            continue
        username = entry.get("username")
        credential = entry.get("credential")
        servers.append(
            RTCIceServer(
                urls=list(urls),
                username=username if isinstance(username, str) else None,
                credential=credential if isinstance(credential, str) else None,
            )
        )
    return servers


def configuration(raw: Sequence[Mapping[str, Any]] | None = None) -> RTCConfiguration:
    """An explicit configuration: the given servers, or none (never aiortc's default)."""
    return RTCConfiguration(iceServers=ice_servers(raw))
