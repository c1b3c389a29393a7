"""Small helpers shared by the handlers: JSON in, JSON out, who is asking, roles.

JSON bodies are decoded at this edge into the ``tlh.api`` structs (``decode``): a
handler gets a typed request or the caller a one-line error naming the field.

Request bodies are bounded while they stream, per route: a handler declares what it
reads with ``@max_body`` (as ``@requires`` declares roles), else it gets the default
for its kind (``PUBLIC_BODY_BYTES`` for routes anyone may call, ``STAFF_BODY_BYTES``
for staff routes). A Content-Length check alone misses a chunked body, and aiohttp's
``client_max_size`` is one figure for the whole server (sized for imports).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

import msgspec
from aiohttp import web

from tlh.api.envelope import Items
from tlh.api.validation import explain, where
from tlh.domain.models import Role
from tlh.errors import BadRequest, InvalidInput, TlhError, TooLarge
from tlh.services.context import Actor, Context

from .keys import CTX, SETTINGS

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
H = TypeVar("H", bound=Handler)
S = TypeVar("S")
F = TypeVar("F", bound=str)

ALL_STAFF = (Role.ADMIN, Role.SCHEDULER, Role.CLINICIAN)
EDITORS = (Role.ADMIN, Role.SCHEDULER)
ADMIN = (Role.ADMIN,)

ACTOR = web.RequestKey("actor", Actor)
ROLES_ATTR = "__tlh_roles__"
BODY_ATTR = "__tlh_max_body__"
ANSWERS_ATTR = "__tlh_answers_itself__"
#: Largest body a route anyone may call reads, unless it declares its own.
PUBLIC_BODY_BYTES = 16 * 1024
#: Largest body a staff route reads, unless it declares its own.
STAFF_BODY_BYTES = 1024 * 1024
_encoder = msgspec.json.Encoder()


def requires(*roles: Role) -> Callable[[H], H]:
    """Declare the roles a handler accepts; the auth middleware enforces it."""

    def mark(handler: H) -> H:
        setattr(handler, ROLES_ATTR, frozenset(roles))
        return handler

    return mark


def public(handler: H) -> H:
    """A handler anyone may call (health check)."""
    setattr(handler, ROLES_ATTR, None)
    return handler


def answers_itself(handler: H) -> H:
    """A handler that turns what it raises into its answer itself (``middleware.answer``)
    rather than through the ``answered`` step, which would otherwise stay suspended
    around it: for a socket that lasts the visit (a waiting page's), that step's frame
    is some 350 bytes per open socket held for nothing."""
    setattr(handler, ANSWERS_ATTR, True)
    return handler


def max_body(limit: int | None) -> Callable[[H], H]:
    """Declare the largest body a handler reads, in bytes; ``None``: the server's
    ``max_body_bytes`` (file uploads). Every limit is capped by that setting."""

    def mark(handler: H) -> H:
        setattr(handler, BODY_ATTR, limit)
        return handler

    return mark


def body_limit(request: web.Request) -> int:
    """The largest body the matched route reads (see ``max_body``)."""
    handler = request.match_info.handler
    server = request.app[SETTINGS].max_body_bytes
    if hasattr(handler, BODY_ATTR):
        declared: int | None = getattr(handler, BODY_ATTR)
        return server if declared is None else min(declared, server)
    anyone = getattr(handler, ROLES_ATTR, frozenset()) is None
    return min(PUBLIC_BODY_BYTES if anyone else STAFF_BODY_BYTES, server)


async def read_body(request: web.Request) -> bytes:
    """The raw body, read as it streams and refused (``TooLarge``, 413) once it passes
    the route's limit (``middleware.unread_body`` then closes the connection)."""
    limit = body_limit(request)
    if (request.content_length or 0) > limit:
        raise _too_large(limit)
    data = bytearray()
    async for chunk in request.content.iter_any():
        if len(data) + len(chunk) > limit:
            raise _too_large(limit)
        data += chunk
    return bytes(data)


def _too_large(limit: int) -> TooLarge:
    return TooLarge(f"the request body is larger than this endpoint accepts ({limit} bytes)")


def ctx(request: web.Request) -> Context:
    return request.app[CTX]


def actor(request: web.Request) -> Actor:
    return request[ACTOR]


def respond(data: Any, status: int = 200) -> web.Response:
    return web.Response(body=_encoder.encode(data), status=status, content_type="application/json")


#: The content type of each file format the API hands out.
FILE_TYPES = {"csv": "text/csv", "json": "application/json", "ics": "text/calendar"}


def file_format(request: web.Request, formats: Mapping[str, F]) -> F:
    """The ``format`` query parameter (the first of ``formats`` when absent); another
    value is 422 naming the ones there are."""
    names = list(formats)
    fmt = formats.get(request.query.get("format", names[0]))
    if fmt is None:
        raise InvalidInput(f"format must be {', '.join(names[:-1])} or {names[-1]}")
    return fmt


def attachment(data: bytes, name: str, fmt: str) -> web.Response:
    """A file to save as ``name.fmt``, with its format's content type."""
    disposition = f'attachment; filename="{name}.{fmt}"'
    return web.Response(
        body=data, content_type=FILE_TYPES[fmt], headers={"Content-Disposition": disposition}
    )


def items(data: list[Any]) -> web.Response:
    return respond(Items(items=data))


async def decode(
    request: web.Request, typ: type[S], *, invalid: type[TlhError] = InvalidInput
) -> S:
    """The request's JSON body as ``typ`` (a ``tlh.api`` struct; an empty body is ``{}``),
    read up to the route's limit (``read_body``).

    Malformed JSON is 400 ``bad_request``; a body that does not fit ``typ`` is ``invalid``
    (422 unless the route documents 400) with one line naming the field.
    """
    return parse(await read_body(request), typ, invalid=invalid)


def parse(raw: bytes, typ: type[S], *, invalid: type[TlhError] = InvalidInput) -> S:
    """``raw`` (a request body) as ``typ``, with ``decode``'s errors."""
    try:
        decoded: S = _decoder(typ).decode(raw if raw.strip() else b"{}")
        return decoded
    except msgspec.ValidationError as exc:
        message, place = where(exc)
        if place == "$" and message.startswith("Expected `object`"):
            raise BadRequest("the request body must be a JSON object") from None
        raise invalid(explain(exc, typ)) from None
    except msgspec.DecodeError:
        raise BadRequest("the request body is not valid JSON") from None
    except RecursionError:
        # msgspec's answer to nesting deeper than the interpreter's recursion limit.
        raise BadRequest("the request body is nested too deeply") from None


_decoders: dict[object, msgspec.json.Decoder[Any]] = {}


def _decoder(typ: object) -> msgspec.json.Decoder[Any]:
    """One decoder per request type (msgspec compiles the type once)."""
    found = _decoders.get(typ)
    if found is None:
        found = _decoders[typ] = msgspec.json.Decoder(typ)
    return found
