"""The browser pages: the client's /j, the clinician's /c and their static assets.

Every answer carries the same strict headers: scripts and styles only from this server
(no inline code), media only from the page's own streams, no Referer ever, and camera,
microphone and screen capture allowed for this origin only. The pages themselves never
read a token: it rides in the URL fragment and is redeemed by the page's own POST.
"""

from __future__ import annotations

import functools
import hashlib
import re
from importlib.resources import files

from aiohttp import web

from tlh.errors import NotFound
from tlh.server.http import public
from tlh.server.transfer import Coding, choose, compress

routes = web.RouteTableDef()

CONTENT_TYPES = {
    ".html": "text/html",
    ".css": "text/css",
    ".js": "text/javascript",
    ".svg": "image/svg+xml",
    ".ico": "image/x-icon",
}
#: Asset names served at the root (``/j.js``); anything else is 404 before any disk access.
ASSET_NAME = r"[a-z0-9_-]+\.(?:js|css|svg|ico)"
_HOST = re.compile(r"^[A-Za-z0-9.\-]+(?::\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](?::\d{1,5})?$")
_BASE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data: blob:; media-src 'self' blob:; font-src 'self'; "
    "object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
HEADERS = {
    "Cache-Control": "no-cache",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Permissions-Policy": (
        "camera=(self), microphone=(self), display-capture=(self), "
        "speaker-selection=(self), geolocation=(), payment=(), usb=()"
    ),
    "Cross-Origin-Opener-Policy": "same-origin",
}


def csp(host: str) -> str:
    """The Content-Security-Policy for a page served under ``host``.

    'self' covers same-host ws:/wss: in CSP 3, but older engines need the websocket
    origins spelled out; an odd Host header just gets 'self' alone.
    """
    connect = "connect-src 'self'"
    if _HOST.match(host):
        connect += f" ws://{host} wss://{host}"
    return f"{_BASE_CSP}; {connect}"


@functools.cache
def asset_bytes(name: str) -> bytes | None:
    """A packaged static file's bytes (read once; they never change while serving)."""
    path = files("tlh.server").joinpath("static", name)
    return path.read_bytes() if path.is_file() else None


def asset_names() -> list[str]:
    """Every file in the static directory (for the size budget and tests)."""
    folder = files("tlh.server").joinpath("static")
    return sorted(entry.name for entry in folder.iterdir() if entry.is_file())


@functools.cache
def asset_etag(name: str) -> str:
    """The validator of a static file: a hash of its bytes (they change only with a new
    version of tlh), so a repeat visit revalidates with a 304 and no body."""
    data = asset_bytes(name) or b""
    return '"' + hashlib.sha256(data).hexdigest()[:32] + '"'


@functools.cache
def asset_encoded(name: str, coding: Coding) -> bytes:
    """A static file compressed once, not on every request."""
    return compress(asset_bytes(name) or b"", coding)


def _serve(request: web.Request, name: str) -> web.Response:
    data = asset_bytes(name)
    suffix = name[name.rfind(".") :]
    if data is None or suffix not in CONTENT_TYPES:
        raise NotFound("no such page")
    kind = CONTENT_TYPES[suffix]
    etag = asset_etag(name)
    headers = {**HEADERS, "Content-Security-Policy": csp(request.host), "ETag": etag}
    text = kind.startswith("text/") or kind == "image/svg+xml"
    if text:
        headers["Vary"] = "Accept-Encoding"
    if etag in {t.strip() for t in request.headers.get("If-None-Match", "").split(",")}:
        return web.Response(status=304, headers=headers)
    coding = choose(request.headers.get("Accept-Encoding", "")) if text else None
    if coding is not None:
        data = asset_encoded(name, coding)
        headers["Content-Encoding"] = coding
    # text/* defaults to utf-8 in aiohttp; the explicit charset keeps old browsers honest.
    return web.Response(
        body=data, content_type=kind, charset="utf-8" if text else None, headers=headers
    )


@routes.get("/j")
@public
async def client_page(request: web.Request) -> web.Response:
    """The client page; the token stays in the fragment, so nothing is consumed here."""
    return _serve(request, "j.html")


@routes.get("/c")
@public
async def clinician_page(request: web.Request) -> web.Response:
    """The clinician's call page; its one-time token also rides in the fragment."""
    return _serve(request, "c.html")


@routes.get("/p")
@public
async def portal_page(request: web.Request) -> web.Response:
    """The client portal (issue 13): sign-in, upcoming appointments, Join."""
    return _serve(request, "p.html")


@routes.get("/{name:" + ASSET_NAME + "}")
@public
async def asset(request: web.Request) -> web.Response:
    """A script, style sheet or icon of the pages."""
    return _serve(request, request.match_info["name"])
