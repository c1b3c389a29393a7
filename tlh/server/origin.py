"""The server's one Origin policy: which pages may change things or open a socket.

A browser names the page's origin on every websocket upgrade and every POST, and sends
cookies along whichever site made the request; so a request a cookie or a link
authenticates must come from one of these origins:

- this server as the request reached it (``scheme://Host``);
- the practice's public URL (``[messaging] public_url``): behind a TLS proxy the request
  arrives as ``http://`` while the page is ``https://tele.example.org``;
- the configured ``allowed_origins`` (e.g. the practice's website).

Programs (the CLI, the dashboard) send no Origin and authenticate with a bearer token:
for the routes they use, ``required=False`` lets a request without Origin through, but a
foreign Origin is refused there too. Every route and socket checks through here, so the
rule cannot differ between a POST and the websocket the same page opens.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from aiohttp import web

from tlh.errors import Forbidden

from .keys import SETTINGS

_DEFAULT_PORTS = {"http": 80, "https": 443}


def origin_of(url: str) -> str | None:
    """``scheme://host[:port]`` of an http(s) URL, lower-case, without a default port
    (as browsers write Origin); ``None`` for anything else (``null``, a bare host)."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        host = f"{host}:{port}"
    return f"{scheme}://{host}"


def allowed_origins(request: web.Request) -> frozenset[str]:
    """The origins whose pages may act on this server (see the module docstring)."""
    settings = request.app[SETTINGS]
    named = [f"{request.scheme}://{request.host}", *settings.allowed_origins]
    if settings.messaging.public_url:
        named.append(settings.messaging.public_url)
    return frozenset(o for o in map(origin_of, named) if o is not None)


def check_origin(request: web.Request, *, required: bool = True) -> None:
    """Refuse (403) a request whose Origin is not allowed. ``required=False``: a request
    without Origin (a program with a bearer token, never a browser) is let through."""
    sent = request.headers.get("Origin")
    if sent is None and not required:
        return
    # Browsers write Origin in the canonical form origin_of gives: compared as sent.
    if sent is None or sent not in allowed_origins(request):
        raise Forbidden("this request must come from the practice's own page")
