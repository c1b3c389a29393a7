"""Behind a reverse proxy: whose ``X-Forwarded-For`` and ``-Proto`` are believed.

Only a request whose TCP peer is in ``[server] trusted_proxies`` has its forwarded
headers read; anyone else's are ignored (a client could otherwise name any address and
slip past the failure limits, or blame another in the audit log). A believed request is
handled as a clone with the client's address as ``remote`` and the proxy's scheme, so the
rate limits, the audit log, the access log and the Origin check all see the client.

With an https public URL, a trusted proxy that says the client came over plain http gets
a redirect to the public URL (GET, HEAD) or a refusal (anything else: its body already
crossed the network in the clear), and every answer over https carries HSTS.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable
from urllib.parse import urlsplit

from aiohttp import web
from aiohttp.typedefs import Middleware

from tlh.errors import BadRequest
from tlh.net import Network

from .http import Handler
from .keys import SETTINGS

Address = ipaddress.IPv4Address | ipaddress.IPv6Address

#: The client's address and scheme as believed (set on the request aiohttp logs and
#: prepares the answer with, which is not the clone the handlers get).
CLIENT = web.RequestKey("client", str)
SCHEME = web.RequestKey("scheme", str)
#: Two years, with subdomains left alone (a practice's other hosts are not ours to pin).
HSTS = "max-age=63072000"


def _address(text: str) -> Address | None:
    value = text.strip()
    if value.startswith("["):  # [v6]:port or [v6]
        value = value[1 : value.find("]")] if "]" in value else value
    elif value.count(":") == 1:  # v4:port
        value = value.split(":")[0]
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        return None


def _trusted(address: Address | None, networks: tuple[Network, ...]) -> bool:
    return address is not None and any(address in n for n in networks)


def client_address(
    peer: str, forwarded_for: list[str], networks: tuple[Network, ...]
) -> str | None:
    """The client behind trusted proxies: ``X-Forwarded-For`` read from the right,
    skipping the proxies we trust; ``None`` when the header says nothing usable."""
    hops = [h for header in forwarded_for for h in header.split(",") if h.strip()]
    chosen: Address | None = None
    for hop in reversed(hops):
        address = _address(hop)
        if address is None:
            break  # garbage: believe nothing left of it
        chosen = address
        if not _trusted(address, networks):
            break
    return str(chosen) if chosen is not None else None


def forwarded_middleware(networks: tuple[Network, ...]) -> Middleware:
    """The middleware, first of all, for ``networks`` (empty: believe no one)."""

    @web.middleware
    def forwarded(request: web.Request, handler: Handler) -> Awaitable[web.StreamResponse]:
        # Before the handler only: its answer is the handler's (``tlh.server.middleware``).
        peer = request.remote or ""
        if not networks or not _trusted(_address(peer), networks):
            return handler(request)
        client = client_address(peer, request.headers.getall("X-Forwarded-For", []), networks)
        protos = request.headers.getall("X-Forwarded-Proto", [])
        proto = protos[-1].split(",")[-1].strip().lower() if protos else ""
        request[CLIENT] = client or peer
        if proto not in ("http", "https"):  # said nothing (the CLI on this machine)
            return handler(request.clone(remote=client or peer))
        request[SCHEME] = proto
        return handler(request.clone(remote=client or peer, scheme=proto))

    return forwarded


def _public_https(request: web.BaseRequest) -> str | None:
    if not isinstance(request, web.Request):
        return None
    public = request.app[SETTINGS].messaging.public_url
    return public if public and urlsplit(public).scheme == "https" else None


@web.middleware
def plain_http(request: web.Request, handler: Handler) -> Awaitable[web.StreamResponse]:
    """A client that reached a trusted proxy over http while the practice is https
    (inside ``answered``, so the refusal is the usual envelope). Before the handler only:
    its answer is the handler's (``tlh.server.middleware``)."""
    public = _public_https(request)
    if request.get(SCHEME) != "http" or public is None:
        return handler(request)
    upgrade = request.headers.get("Upgrade", "").lower() == "websocket"
    if request.method in ("GET", "HEAD") and not upgrade:
        raise web.HTTPPermanentRedirect(public.rstrip("/") + request.rel_url.path_qs)
    raise BadRequest(f"this practice is reached over https: use {public}")


async def add_hsts(request: web.BaseRequest, response: web.StreamResponse) -> None:
    """``on_response_prepare``: HSTS on every answer over https when the public URL is
    https (browsers ignore it over http, and a LAN on plain http keeps working)."""
    if _public_https(request) is None:
        return
    if request.get(SCHEME, request.scheme) == "https":
        response.headers["Strict-Transport-Security"] = HSTS
