"""``GET /i18n/{lang}.json``: a shipped language's words for the client pages.

Read from the language's gettext catalogue once (``tlh.i18n.catalogue``), served like
the pages' own assets (same headers, an ETag, compressed once), and fetched by a page
only when that language is chosen: an English page never asks for it.
"""

from __future__ import annotations

import functools
import hashlib

from aiohttp import web

from tlh.errors import NotFound
from tlh.i18n.catalogue import page_strings
from tlh.server.http import public
from tlh.server.routes.pages import HEADERS, csp
from tlh.server.transfer import Coding, choose, compress

routes = web.RouteTableDef()


@functools.cache
def _etag(language: str) -> str:
    return '"' + hashlib.sha256(page_strings(language) or b"").hexdigest()[:32] + '"'


@functools.cache
def _encoded(language: str, coding: Coding) -> bytes:
    return compress(page_strings(language) or b"", coding)


@routes.get("/i18n/{language:[a-z]{2,3}}.json")
@public
async def strings(request: web.Request) -> web.Response:
    """``{"English source": "translation"}`` for one shipped language (404 otherwise)."""
    language = request.match_info["language"]
    data = page_strings(language)
    if data is None:
        raise NotFound("no such language")
    etag = _etag(language)
    headers = {
        **HEADERS,
        "Content-Security-Policy": csp(request.host),
        "ETag": etag,
        "Vary": "Accept-Encoding",
    }
    if etag in {t.strip() for t in request.headers.get("If-None-Match", "").split(",")}:
        return web.Response(status=304, headers=headers)
    coding = choose(request.headers.get("Accept-Encoding", ""))
    if coding is not None:
        data = _encoded(language, coding)
        headers["Content-Encoding"] = coding
    return web.Response(
        body=data, content_type="application/json", charset="utf-8", headers=headers
    )
