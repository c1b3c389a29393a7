"""Every answer's shape and every route's guard.

``errors`` turns anything raised into the one envelope with the right status, and
never leaks a traceback or patient data to the caller. ``authenticate`` resolves the
bearer token and checks the route's declared roles before the handler runs; a
handler that declares nothing is refused (deny by default).
"""

from __future__ import annotations

import logging
import secrets

from aiohttp import web

from tlh.domain.models import Role
from tlh.errors import Forbidden, NotFound, TlhError, TooLarge
from tlh.logsafe import exception_summary
from tlh.services import auth
from tlh.services.context import Actor
from tlh.services.staff_web import COOKIE as STAFF_COOKIE
from tlh.services.staff_web import session_actor

from .http import ACTOR, ROLES_ATTR, Handler, ctx, respond
from .keys import STAFF_SESSION, STAFF_WEB
from .origin import check_origin

log = logging.getLogger("tlh.server")

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
}


def _envelope(status: int, code: str, message: str, details: object = None) -> web.Response:
    response = respond({"error": {"code": code, "message": message, "details": details}}, status)
    return response


@web.middleware
async def errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except TlhError as exc:
        return _envelope(exc.status, exc.code, exc.message, exc.details)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        if exc.status == 413:
            limit = TooLarge("the request body is larger than this server accepts")
            return _envelope(413, limit.code, limit.message)
        code = _HTTP_CODES.get(exc.status, "http_error")
        return _envelope(exc.status, code, exc.reason)
    except Exception as exc:
        return _internal(request, exc)


def _internal(request: web.Request, exc: Exception) -> web.Response:
    """The 500 answer, and its log line with the same request id so support can match a
    caller's report to it. The log names the type, the route template and where it was
    raised; never the message or a traceback's values: they may carry patient data."""
    request_id = f"req_{secrets.token_hex(6)}"
    route = request.match_info.route.resource
    where = route.canonical if route is not None else "?"
    log.error(
        "unexpected error in %s %s (request %s): %s",
        request.method,
        where,
        request_id,
        exception_summary(exc),
    )
    response = _envelope(
        500,
        "internal",
        f"internal server error (request {request_id})",
        {"request_id": request_id},
    )
    response.headers["X-Request-Id"] = request_id
    return response


@web.middleware
async def authenticate(request: web.Request, handler: Handler) -> web.StreamResponse:
    match = request.match_info
    if match.http_exception is not None:
        # No such route: same answer whether or not the caller is authenticated.
        if match.http_exception.status == 404:
            raise NotFound("no such endpoint")
        raise match.http_exception
    target = match.handler
    roles: frozenset[Role] | None = getattr(target, ROLES_ATTR, frozenset())
    if roles is None:
        return await handler(request)
    peer = request.remote or ""
    bearer = auth.bearer_of(request.headers.get("Authorization", ""))
    if not bearer and STAFF_COOKIE in request.cookies:
        actor = _cookie_actor(request, peer)
    else:
        actor, _ = auth.authenticate(ctx(request), bearer, peer)
    if actor.role not in roles:
        raise Forbidden("your role does not allow this")
    request[ACTOR] = actor
    return await handler(request)


def _cookie_actor(request: web.Request, peer: str) -> Actor:
    """A staff page's cookie session acts as its staff member (a Bearer token wins).

    A cookie rides along on any request the browser makes, so a change or a websocket
    must come from this server's own page: a foreign Origin is refused (403) first.
    """
    unsafe = request.method not in ("GET", "HEAD", "OPTIONS")
    upgrade = request.headers.get("Upgrade", "").lower() == "websocket"
    if unsafe or upgrade:
        check_origin(request)
    session = request.cookies[STAFF_COOKIE]
    actor = session_actor(ctx(request), request.app[STAFF_WEB], session, peer)
    request[STAFF_SESSION] = session
    return actor
