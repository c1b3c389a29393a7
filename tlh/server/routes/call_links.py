"""One-time login links to the clinician's call page, redeemed for a staff cookie.

The staff API token never appears in a URL: a Bearer request makes a link
``{base}/c#TOKEN`` (the token in the fragment, single use, two minutes), the page POSTs
the token here and gets the ``__Host-tlh_staff`` cookie session. Every failure to
redeem answers the same, is rate-limited per address and audited without the token.
A link, and the page session it is traded for, lives no longer than the staff API token
that asked for it (``tlh.services.staff_web``).
"""

from __future__ import annotations

from aiohttp import web

from tlh.api.sessions import CallLink, CallLinkRequest, StaffLogin
from tlh.domain.models import Role
from tlh.errors import Forbidden
from tlh.server.http import actor, ctx, decode, max_body, public, requires, respond
from tlh.server.keys import FAILURES, STAFF_SESSION, STAFF_SOCKETS, STAFF_WEB
from tlh.server.origin import check_origin
from tlh.server.routes.invites import link_ctx
from tlh.server.routes.links import REDEEM_BODY_BYTES, presented_token, refuse_redemption
from tlh.services import auth
from tlh.services.appointments import own_appointment
from tlh.services.context import Actor, staff_actor
from tlh.services.links import outreach_of
from tlh.services.staff_web import COOKIE, LoginGrant, signed_in_staff

routes = web.RouteTableDef()

#: Roles with a call page (schedulers admit nobody and join no call).
CALLERS = (Role.ADMIN, Role.CLINICIAN)


def _signed_in_with(request: web.Request) -> str:
    """The hash of the staff API token behind this request: its Bearer token, or the one
    that signed its page in ("" if neither, which no token matches)."""
    bearer = auth.bearer_of(request.headers.get("Authorization", ""))
    if bearer:
        return auth.hash_token(bearer)
    grant = request.app[STAFF_WEB].holder(request.get(STAFF_SESSION))
    return grant.token_hash if grant is not None else ""


def call_link(request: web.Request, who: Actor, appointment_id: str | None) -> CallLink:
    """A new one-time login link for the caller ``who``; it and its page session end
    with the token behind this request."""
    assert who.role is not None  # staff routes only
    grant = LoginGrant(who.id, _signed_in_with(request), who.role, appointment_id)
    token, expires = request.app[STAFF_WEB].issue(grant)
    _, base = outreach_of(link_ctx(request))
    return CallLink(url=f"{base}/c#{token}", expires_at=expires)


@routes.post("/api/v1/call-links")
@requires(*CALLERS)
async def make(request: web.Request) -> web.Response:
    """A login link for the caller; only a Bearer token may make one (a page cannot
    extend its own sign-in indefinitely by minting new links)."""
    if not request.headers.get("Authorization", "").lower().startswith("bearer "):
        raise Forbidden("a call link needs the staff API token")
    appointment_id = (await decode(request, CallLinkRequest)).appointment_id
    who = actor(request)
    if appointment_id is not None:
        await own_appointment(ctx(request), who, appointment_id)  # a clinician's own only
    return respond(call_link(request, who, appointment_id), 201)


@routes.post("/api/v1/call-links/redeem")
@public
@max_body(REDEEM_BODY_BYTES)
async def redeem(request: web.Request) -> web.Response:
    """Trade a login token for the staff cookie session; one answer for every failure.

    As for client links, a valid token works from any address and only unknown ones
    count, in a budget of their own: guessing client links locks no clinician out.
    """
    check_origin(request)
    c = ctx(request)
    peer = request.remote or ""
    staff_web = request.app[STAFF_WEB]
    grant = staff_web.redeem(await presented_token(request))
    # The token that asked for the link may have been revoked meanwhile.
    staff = await signed_in_staff(c, grant) if grant is not None else None
    if grant is None or staff is None:
        failures = request.app[FAILURES].staff_logins
        return await refuse_redemption(request, failures, "staff", "staff.web.login.failed")
    who = staff_actor(staff, peer)
    idle_min = c.policy().idle_logoff_min
    answer = StaffLogin(
        staff_id=staff.id,
        name=staff.name,
        role=staff.role,
        idle_logoff_min=idle_min,
        appointment_id=grant.appointment_id,
    )
    response = respond(answer)
    # No max_age: the browser drops it on close; the server ends it on idle or logout.
    response.set_cookie(
        COOKIE,
        await staff_web.open(grant, idle_min, who),  # audits staff.web.login
        httponly=True,
        secure=True,
        samesite="Strict",
        path="/",
    )
    return response


@routes.post("/api/v1/call-links/logout")
@public
async def logout(request: web.Request) -> web.Response:
    """End the page's cookie session (if any) and clear the cookie; always 204."""
    check_origin(request)
    c = ctx(request)
    staff_id = await request.app[STAFF_WEB].close(request.cookies.get(COOKIE), request.remote or "")
    if staff_id is not None:
        await request.app[STAFF_SOCKETS].close_signed_out(c, request.app[STAFF_WEB])
    response = web.Response(status=204)
    response.del_cookie(COOKIE, path="/", secure=True, httponly=True, samesite="Strict")
    return response
