"""The client portal's sign-in and session routes (issue 13), and ``portal_principal``,
how any route learns who is signed in to the portal.

Every POST checks Origin (a cookie authenticates it); the answer to a code request is
the same whether or not the address is known (sent from a background task after the
answer); wrong codes are counted per address (the service) and per network address
(here), then refused with 429.
"""

from __future__ import annotations

from aiohttp import web

from tlh.api.portal import (
    CodeRequest,
    CodeRequested,
    PortalJoin,
    PortalJoinLink,
    SignIn,
    SignOut,
)
from tlh.errors import RateLimited, Unauthenticated
from tlh.server.http import ctx, decode, items, max_body, public, respond
from tlh.server.keys import PORTAL_CODES, PORTAL_LIMITS, PORTAL_SESSIONS
from tlh.server.origin import check_origin
from tlh.services import portal_visits
from tlh.services.context import Actor
from tlh.services.portal_people import Person, Principal, parse_address
from tlh.services.portal_sessions import COOKIE, COOKIE_MAX_AGE_S
from tlh.services.portal_signin import CODE_TTL, SignInFailed, address_key
from tlh.services.portal_views import portal_me

routes = web.RouteTableDef()

_BODY = 1024
#: The one answer to every code request.
CODE_SENT = CodeRequested(
    message="If this address is on file with your practice, a 6-digit code is on its way.",
    valid_min=int(CODE_TTL.total_seconds() // 60),
)


async def portal_principal(request: web.Request) -> Principal:
    """Who is signed in to the portal with this request's cookie, and the client ids they
    may act for (``principal.client_ids``; ``principal.require(id)`` is 404 for any other
    client); ``Unauthenticated`` (401) when nobody is. Routes that change anything also
    call ``check_origin(request)``."""
    sessions = request.app[PORTAL_SESSIONS]
    return await sessions.principal(ctx(request), request.cookies.get(COOKIE), request.remote or "")


async def signed_in(request: web.Request) -> Principal | None:
    """``portal_principal`` for a page that may or may not be signed in (``None``)."""
    try:
        return await portal_principal(request)
    except Unauthenticated:
        return None


async def _count_code_request(request: web.Request, hashed_address: str) -> None:
    """Count a code request against the network address and the address asked for;
    429 once either has had its share."""
    limits = request.app[PORTAL_LIMITS]
    budgets = (
        (limits.codes_per_peer, request.remote or ""),
        (limits.codes_per_address, hashed_address),
    )
    for limiter, key in budgets:
        await limiter.guard(key)
    for limiter, key in budgets:
        await limiter.fail(key)


@routes.post("/api/v1/portal/code")
@public
@max_body(_BODY)
async def request_code(request: web.Request) -> web.Response:
    """Send a sign-in code to an email address or mobile number; 202, the same answer
    whether anyone has that address."""
    check_origin(request)
    given = await decode(request, CodeRequest)
    channel, address = parse_address(given.address)
    await _count_code_request(request, address_key(channel, address))
    request.app[PORTAL_CODES].request(ctx(request), channel, address, request.remote or "")
    return respond(CODE_SENT, 202)


@routes.post("/api/v1/portal/sign-in")
@public
@max_body(_BODY)
async def sign_in(request: web.Request) -> web.Response:
    """Trade the address and its code for a portal session cookie."""
    check_origin(request)
    given = await decode(request, SignIn)
    channel, address = parse_address(given.address)
    limits = request.app[PORTAL_LIMITS]
    peer = request.remote or ""
    await limits.wrong_per_peer.guard(peer)
    c = ctx(request)
    try:
        person = await request.app[PORTAL_CODES].check(c, channel, address, given.code, peer)
    except (SignInFailed, RateLimited):
        await limits.wrong_per_peer.fail(peer)
        raise
    return await start_session(request, person)


async def start_session(request: web.Request, person: Person) -> web.Response:
    """Sign ``person`` in: a new portal session (audited ``portal.sign_in``), answered
    with ``PortalMe`` and the session cookie. For every way of signing in (the code here;
    a passkey route calls it the same way once its check passed)."""
    c = ctx(request)
    peer = request.remote or ""
    who = Actor(kind=person.kind, id=person.ids[0], source=peer)
    session = await request.app[PORTAL_SESSIONS].open(c, person, who)
    principal = await request.app[PORTAL_SESSIONS].principal(c, session, peer)
    response = respond(await portal_me(c, principal))
    response.set_cookie(
        COOKIE,
        session,
        httponly=True,
        secure=True,
        samesite="Strict",
        path="/",
        max_age=COOKIE_MAX_AGE_S,
    )
    return response


@routes.get("/api/v1/portal/me")
@public
async def me(request: web.Request) -> web.Response:
    """Who is signed in (401 when nobody is)."""
    return respond(await portal_me(ctx(request), await portal_principal(request)))


@routes.post("/api/v1/portal/sign-out")
@public
@max_body(_BODY)
async def sign_out(request: web.Request) -> web.Response:
    """End this session, or with ``everywhere`` every portal session of this person."""
    check_origin(request)
    given = await decode(request, SignOut)
    principal = await portal_principal(request)
    await request.app[PORTAL_SESSIONS].sign_out(
        ctx(request), principal, everywhere=given.everywhere
    )
    response = web.Response(status=204)
    response.del_cookie(COOKIE, path="/", secure=True, httponly=True, samesite="Strict")
    return response


@routes.get("/api/v1/portal/appointments")
@public
async def appointments(request: web.Request) -> web.Response:
    """The upcoming appointments of the clients the signed-in person acts for."""
    principal = await portal_principal(request)
    return items(await portal_visits.upcoming(ctx(request), principal))


@routes.post("/api/v1/portal/join")
@public
@max_body(_BODY)
async def join(request: web.Request) -> web.Response:
    """A fresh join link for this person and appointment; the page opens ``/j#TOKEN``."""
    check_origin(request)
    given = await decode(request, PortalJoin)
    principal = await portal_principal(request)
    token = await portal_visits.join(ctx(request), principal, given.appointment_id)
    return respond(PortalJoinLink(token=token), 201)
