"""How answers travel: compressed when the client asks, never cached when they are API.

- Text answers (JSON, HTML, CSS, scripts) over ``MIN_BYTES`` go out brotli-compressed
  where the client accepts ``br`` and the ``brotli`` library is installed, else gzip where
  it accepts that; ``Vary: Accept-Encoding`` either way. Static files are compressed once
  (``tlh.server.routes.pages``) and carry an ``ETag``, so a repeat visit is a 304.
- Every ``/api/`` answer says ``Cache-Control: no-store``: they carry patients' data, and
  no browser or proxy should keep a copy.
"""

from __future__ import annotations

import gzip
import importlib
from types import ModuleType
from typing import Literal

from aiohttp import web

#: Smaller bodies are sent as they are (a header or two is the saving's size).
MIN_BYTES = 1024
_TEXT = ("application/json", "text/", "image/svg+xml", "application/javascript")

Coding = Literal["br", "gzip"]


def _brotli() -> ModuleType | None:
    """The ``brotli`` (or ``brotlicffi``) module, when one is installed."""
    for name in ("brotli", "brotlicffi"):
        try:
            return importlib.import_module(name)
        except ImportError:
            continue
    return None


BROTLI = _brotli()


def accepted(header: str) -> set[str]:
    """The codings an ``Accept-Encoding`` header allows (``q=0`` refuses one)."""
    found: set[str] = set()
    for part in header.lower().split(","):
        name, _, params = part.strip().partition(";")
        q = params.strip().removeprefix("q=")
        try:
            allowed = float(q) > 0 if params.strip().startswith("q=") else True
        except ValueError:
            allowed = False
        if name and allowed:
            found.add(name.strip())
    return found


def choose(header: str) -> Coding | None:
    """Brotli where asked for and available, else gzip where asked for, else none."""
    codings = accepted(header)
    if BROTLI is not None and ("br" in codings or "*" in codings):
        return "br"
    if "gzip" in codings or "*" in codings:
        return "gzip"
    return None


def compress(body: bytes, coding: Coding) -> bytes:
    """``body`` in ``coding`` (brotli's text mode, quality 5: fast enough per answer)."""
    if coding == "br":
        assert BROTLI is not None
        return bytes(BROTLI.compress(body, mode=BROTLI.MODE_TEXT, quality=5))
    return gzip.compress(body, compresslevel=6, mtime=0)


def _is_text(response: web.Response) -> bool:
    return response.content_type.startswith(_TEXT)


def shape(request: web.Request, response: web.StreamResponse) -> None:
    """``no-store`` on API answers; text bodies compressed as the client asks (an
    answer on its way out: ``middleware.answered``)."""
    if response.prepared:  # a websocket, or a stream already under way
        return
    if request.path.startswith("/api/"):
        response.headers["Cache-Control"] = "no-store"
    if (
        isinstance(response, web.Response)
        and "Content-Encoding" not in response.headers
        and isinstance(response.body, bytes)
        and len(response.body) >= MIN_BYTES
        and _is_text(response)
    ):
        coding = choose(request.headers.get("Accept-Encoding", ""))
        response.headers.add("Vary", "Accept-Encoding")
        if coding is not None:
            response.body = compress(response.body, coding)
            response.headers["Content-Encoding"] = coding
