"""Small helpers shared by the handlers: JSON in, JSON out, who is asking, roles."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import msgspec
from aiohttp import web

from tlh.domain.models import Role
from tlh.errors import BadRequest
from tlh.services.context import Actor, Context

from .keys import CTX

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
H = TypeVar("H", bound=Handler)

ALL_STAFF = (Role.ADMIN, Role.SCHEDULER, Role.CLINICIAN)
EDITORS = (Role.ADMIN, Role.SCHEDULER)
ADMIN = (Role.ADMIN,)

ACTOR = web.RequestKey("actor", Actor)
ROLES_ATTR = "__tlh_roles__"
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


def ctx(request: web.Request) -> Context:
    return request.app[CTX]


def actor(request: web.Request) -> Actor:
    return request[ACTOR]


def respond(data: Any, status: int = 200) -> web.Response:
    return web.Response(body=_encoder.encode(data), status=status, content_type="application/json")


def items(data: list[Any]) -> web.Response:
    return respond({"items": data})


async def body(request: web.Request) -> dict[str, Any]:
    """The request's JSON object body ({} when empty)."""
    raw = await request.read()
    if not raw.strip():
        return {}
    try:
        data = msgspec.json.decode(raw)
    except msgspec.DecodeError:
        raise BadRequest("the request body is not valid JSON") from None
    if not isinstance(data, dict):
        raise BadRequest("the request body must be a JSON object")
    return data
