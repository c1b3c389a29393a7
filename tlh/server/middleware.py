"""Every answer's shape and every route's guard.

``answered`` takes every answer on its way out: ``refusal`` turns anything raised into
the one envelope with the right status, and never leaks a traceback or patient data to
the caller; ``transfer.shape`` sets its caching and compression; ``unread_body`` stops a
body the handler left unread from being read past the route's limit. ``authenticate``
resolves the bearer token and checks the route's declared roles before the handler
runs; a handler that declares nothing is refused (deny by default).

A step that acts only before the handler (``rooms_here``, ``authenticate`` on a public
route, and ``forwarded``, ``plain_http``, ``timed`` on a websocket) is a plain function
that returns the handler's awaitable instead of awaiting it: the step that calls it
awaits it as it would have awaited the step. A step that awaits keeps its frame
suspended for as long as the handler runs, which for a websocket is the whole visit:
some 300 bytes per step per open socket, for nothing. The steps after the handler are
one middleware (``answered``) for the same reason, and a handler that ``answers_itself``
(a waiting page's socket) is passed straight on by it too.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Awaitable

from aiohttp import web

from tlh.api.envelope import ErrorEnvelope, ErrorInfo
from tlh.domain.models import Role
from tlh.errors import (
    Forbidden,
    NotFound,
    OutOfScope,
    StoreError,
    StoreFull,
    StoreUnavailable,
    TlhError,
    TooLarge,
    Unauthenticated,
    Unavailable,
)
from tlh.logsafe import exception_summary
from tlh.services import auth
from tlh.services.context import Actor
from tlh.services.staff_web import COOKIE as STAFF_COOKIE
from tlh.services.staff_web import session_actor

from .background import stands_by
from .http import ACTOR, ANSWERS_ATTR, ROLES_ATTR, Handler, body_limit, ctx, respond
from .keys import ACTIVE, FAILURES, STAFF_SESSION, STAFF_WEB
from .origin import check_origin
from .transfer import shape

log = logging.getLogger("tlh.server")
#: How long the rest of a body within its limit may take to arrive after the answer.
_DRAIN_S = 10.0

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
    return respond(
        ErrorEnvelope(error=ErrorInfo(code=code, message=message, details=details)), status
    )


STORE_FULL = (
    "the server's disk is full; tell the practice's administrator "
    "(this change may not have been saved)"
)
STORE_UNAVAILABLE = (
    "the server cannot reach its database just now; try again in a moment (nothing was changed)"
)
STORE_FAILED = (
    "the server could not write its data; tell the practice's administrator "
    "(this change may not have been saved)"
)


def _route(request: web.Request) -> str:
    """The route template of a request (never its path: ids only, but no query)."""
    route = request.match_info.route.resource
    return route.canonical if route is not None else "?"


@web.middleware
def rooms_here(request: web.Request, handler: Handler) -> Awaitable[web.StreamResponse]:
    """A server not serving the rooms now (of several sharing a store: cut off from the
    database) refuses what needs them: 503, and a page or dashboard tries again, through
    the balancer, which by then sends it to another server."""
    active = request.app.get(ACTIVE)
    # ``request.path`` only when it matters: reading it caches it on the request, and a
    # waiting page's request lives as long as its socket.
    if active is not None and not active.active and stands_by(active, request.path):
        raise Unavailable("this server is not serving the waiting rooms now; try again")
    return handler(request)


@web.middleware
def answered(request: web.Request, handler: Handler) -> Awaitable[web.StreamResponse]:
    """The handler's answer, or the envelope of what it raised (``answer``), shaped for
    the way out (``transfer.shape``), then its unread body bounded (``unread_body``): in
    that order, in one frame. A handler that ``answers_itself`` is called straight on:
    only what the plain steps between here and it raise at once is answered here."""
    if getattr(request.match_info.handler, ANSWERS_ATTR, False):
        try:
            return handler(request)
        except Exception as exc:
            return answer(request, exc)
    return _answered(request, handler)


async def _answered(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        response = await handler(request)
    except Exception as exc:
        return await answer(request, exc)
    shape(request, response)
    return await unread_body(request, response)


async def answer(request: web.Request, exc: Exception) -> web.StreamResponse:
    """The answer to ``exc``, raised by a handler or a step before it: the envelope
    (``refusal``), shaped and with its unread body bounded; a redirect is raised on for
    aiohttp to answer."""
    if isinstance(exc, web.HTTPException) and exc.status < 400:
        raise exc
    response = await refusal(request, exc)
    shape(request, response)
    return await unread_body(request, response)


def unexpected(request: web.Request, exc: Exception) -> str:
    """Log a bug (``exc``) with a new request id, which it returns, so support can match
    a caller's report to it: the type, the route template and where it was raised; never
    the message or a traceback's values, which may carry patient data. For one met after
    a handler started answering (a websocket's) this is all that can be done."""
    request_id = f"req_{secrets.token_hex(6)}"
    log.error(
        "unexpected error in %s %s (request %s): %s",
        request.method,
        _route(request),
        request_id,
        exception_summary(exc),
    )
    return request_id


async def refusal(request: web.Request, exc: Exception) -> web.Response:
    """The one envelope for anything a handler (or a step before it) raised, with the
    right status; never a traceback or patient data."""
    if isinstance(exc, StoreError):
        # The reason names server files (the log is the administrator's); the caller
        # hears only what happened and who can fix it.
        log.error("store error in %s %s: %s", request.method, _route(request), exc.message)
        public = STORE_FAILED
        if isinstance(exc, StoreFull):
            public = STORE_FULL
        elif isinstance(exc, StoreUnavailable):
            public = STORE_UNAVAILABLE
        return _envelope(exc.status, exc.code, public)
    if isinstance(exc, TlhError):
        if isinstance(exc, OutOfScope):
            await _audit_denied(request, exc)
        response = _envelope(exc.status, exc.code, exc.message, exc.details)
        if isinstance(exc.details, dict) and "retry_after_s" in exc.details:
            response.headers["Retry-After"] = str(exc.details["retry_after_s"])
        return response
    if isinstance(exc, web.HTTPException):
        if exc.status == 413:
            limit = TooLarge("the request body is larger than this server accepts")
            return _envelope(413, limit.code, limit.message)
        code = _HTTP_CODES.get(exc.status, "http_error")
        return _envelope(exc.status, code, exc.reason)
    return _internal(request, exc)


async def _audit_denied(request: web.Request, exc: OutOfScope) -> None:
    """Audit a staff member asking for a record that is not theirs (answered 404)."""
    who = request.get(ACTOR)
    if who is None:
        return
    try:
        await ctx(request).audit.append(who, "scope.denied", exc.target)
    except StoreError:
        # The answer is 404 either way; the log says the audit could not be written.
        log.error("could not audit a scope denial in %s %s", request.method, _route(request))


def _internal(request: web.Request, exc: Exception) -> web.Response:
    """The 500 answer, with the request id of its log line (``unexpected``)."""
    request_id = unexpected(request, exc)
    response = _envelope(
        500,
        "internal",
        f"internal server error (request {request_id})",
        {"request_id": request_id},
    )
    response.headers["X-Request-Id"] = request_id
    return response


@web.middleware
def authenticate(request: web.Request, handler: Handler) -> Awaitable[web.StreamResponse]:
    """The route's guard: no such route is a 404, a public one (``roles`` ``None``) is
    the handler's at once, anything else is the staff member's (``_as_staff``)."""
    match = request.match_info
    if match.http_exception is not None:
        # No such route: same answer whether or not the caller is authenticated.
        if match.http_exception.status == 404:
            raise NotFound("no such endpoint")
        raise match.http_exception
    target = match.handler
    roles: frozenset[Role] | None = getattr(target, ROLES_ATTR, frozenset())
    if roles is None:
        return handler(request)
    return _as_staff(request, handler, roles)


async def _as_staff(
    request: web.Request, handler: Handler, roles: frozenset[Role]
) -> web.StreamResponse:
    """The handler as the staff member behind the token or cookie, when one of their
    roles is one of the route's (none declared: nobody's)."""
    peer = request.remote or ""
    bearer = auth.bearer_of(request.headers.get("Authorization", ""))
    if not bearer and STAFF_COOKIE in request.cookies:
        actor = await _cookie_actor(request, peer)
    else:
        actor = await _bearer_actor(request, bearer, peer)
    if not actor.roles & roles:
        raise Forbidden("your role does not allow this")
    request[ACTOR] = actor
    return await handler(request)


async def _bearer_actor(request: web.Request, bearer: str, peer: str) -> Actor:
    """The staff member behind a bearer token.

    A token that names nobody counts against its address (a missing one does not):
    past the limit the answer is 429 instead of 401 (``ratelimit``); the first failure
    per address per minute is audited with a prefix of the token's hash (enough to
    recognise a revoked token still in use, never the token).
    """
    try:
        actor, _ = await auth.authenticate(ctx(request), bearer, peer)
    except Unauthenticated:
        if not bearer:
            raise
        failures = request.app[FAILURES]
        if await failures.bearer.blocked(peer):
            raise await failures.bearer.refusal(peer) from None
        await failures.bearer.fail(peer)
        if failures.bearer_audit.due(peer):
            who = Actor(kind="staff", id="anonymous", source=peer)
            await ctx(request).audit.append(who, "auth.failed", f"token:{_hash_prefix(bearer)}")
        raise
    return actor


def _hash_prefix(token: str) -> str:
    return auth.hash_token(token)[:12]


async def _cookie_actor(request: web.Request, peer: str) -> Actor:
    """A staff page's cookie session acts as its staff member (a Bearer token wins).

    A cookie rides along on any request the browser makes, so a change or a websocket
    must come from this server's own page: a foreign Origin is refused (403) first.
    """
    unsafe = request.method not in ("GET", "HEAD", "OPTIONS")
    upgrade = request.headers.get("Upgrade", "").lower() == "websocket"
    if unsafe or upgrade:
        check_origin(request)
    session = request.cookies[STAFF_COOKIE]
    actor = await session_actor(ctx(request), request.app[STAFF_WEB], session, peer)
    request[STAFF_SESSION] = session
    return actor


async def unread_body(request: web.Request, response: web.StreamResponse) -> web.StreamResponse:
    """Answer at once, then bound what is read of a body the handler left unread.

    aiohttp reads and discards an unread body for up to 10 s after the answer, to keep
    the connection: hundreds of megabytes from one client over loopback, whatever the
    route accepts. Here the rest is read (and dropped) only while it stays within the
    route's limit; past it, or when it was over the limit already (a 413), the
    connection is closed with the answer and nothing more is read.
    """
    content = request.content
    if content.is_eof() or response.prepared:
        return response
    limit = body_limit(request)
    declared = request.content_length or 0
    hopeless = declared > limit or content.total_bytes > limit
    if hopeless:
        response.force_close()  # tells the client: Connection: close
    await response.prepare(request)
    await response.write_eof()
    if not hopeless:
        with contextlib.suppress(TimeoutError, ConnectionError):
            async with asyncio.timeout(_DRAIN_S):
                while not content.is_eof() and content.total_bytes <= limit:
                    await content.readany()
    if not content.is_eof():
        request.protocol.force_close()
    return response
