"""One-time login links to the clinician's call page, redeemed for a staff cookie.

The staff API token never appears in a URL: a Bearer request makes a link
``{base}/c#TOKEN`` (the token in the fragment, single use, two minutes), the page POSTs
the token here and gets the ``__Host-tlh_staff`` cookie session. Every failure to
redeem answers the same, is rate-limited per address and audited without the token.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from tlh.domain.models import Appointment, Role, Staff
from tlh.errors import BadRequest, Forbidden, NotFound
from tlh.server.http import actor, body, ctx, max_body, public, requires, respond
from tlh.server.keys import FAILURES, STAFF_SOCKETS, STAFF_WEB
from tlh.server.origin import check_origin
from tlh.server.routes.invites import link_ctx
from tlh.server.routes.links import INVALID_LINK, REDEEM_BODY_BYTES
from tlh.services.context import Actor
from tlh.services.links import outreach_of
from tlh.services.staff_web import COOKIE

routes = web.RouteTableDef()

#: Roles with a call page (schedulers admit nobody and join no call).
CALLERS = (Role.ADMIN, Role.CLINICIAN)


def call_link(request: web.Request, staff_id: str, appointment_id: str | None) -> dict[str, Any]:
    """A new one-time login link for ``staff_id``: ``{"url", "expires_at"}``."""
    token, expires = request.app[STAFF_WEB].issue(staff_id, appointment_id)
    _, base = outreach_of(link_ctx(request))
    return {"url": f"{base}/c#{token}", "expires_at": expires}


@routes.post("/api/v1/call-links")
@requires(*CALLERS)
async def make(request: web.Request) -> web.Response:
    """A login link for the caller; only a Bearer token may make one (a page cannot
    extend its own sign-in indefinitely by minting new links)."""
    if not request.headers.get("Authorization", "").lower().startswith("bearer "):
        raise Forbidden("a call link needs the staff API token")
    appointment_id = (await body(request)).get("appointment_id")
    if appointment_id is not None:
        if not isinstance(appointment_id, str):
            raise BadRequest("appointment_id must be a string")
        if not isinstance(ctx(request).store.get("appointments", appointment_id), Appointment):
            raise NotFound(f"no appointment {appointment_id[:40]}")
    return respond(call_link(request, actor(request).id, appointment_id), 201)


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
    try:
        grant = staff_web.redeem((await body(request)).get("token"))
    except BadRequest:
        grant = None
    staff = c.store.get("staff", grant.staff_id) if grant is not None else None
    if grant is None or not isinstance(staff, Staff) or not staff.active:
        failures = request.app[FAILURES].staff_logins
        if failures.blocked(peer):
            raise failures.refusal(peer)
        failures.fail(peer)
        await c.audit.append(
            Actor(kind="staff", id="anonymous", source=peer), "staff.web.login.failed", "unknown"
        )
        return respond(INVALID_LINK, 404)
    who = Actor(kind="staff", id=staff.id, role=staff.role, source=peer)
    await c.audit.append(who, "staff.web.login", staff.id)
    idle_min = c.policy().idle_logoff_min
    answer: dict[str, Any] = {
        "staff_id": staff.id,
        "name": staff.name,
        "role": staff.role.value,
        "idle_logoff_min": idle_min,
    }
    if grant.appointment_id is not None:
        answer["appointment_id"] = grant.appointment_id
    response = respond(answer)
    # No max_age: the browser drops it on close; the server ends it on idle or restart.
    response.set_cookie(
        COOKIE,
        staff_web.open(staff.id, idle_min),
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
    staff_id = request.app[STAFF_WEB].close(request.cookies.get(COOKIE))
    if staff_id is not None:
        who = Actor(kind="staff", id=staff_id, source=request.remote or "")
        await c.audit.append(who, "staff.web.logout", staff_id)
        await request.app[STAFF_SOCKETS].close_signed_out(c, request.app[STAFF_WEB])
    response = web.Response(status=204)
    response.del_cookie(COOKIE, path="/", secure=True, httponly=True, samesite="Strict")
    return response
