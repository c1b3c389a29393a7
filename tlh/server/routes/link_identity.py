"""The link page's state and its identity check (issue 4; link cookie, never a token).

``GET /api/v1/link/state`` tells the page what comes next: ``identity`` until the check
passes (when one applies), then ``consent`` while consent is due, then ``waiting``.
"""

from __future__ import annotations

from aiohttp import web

from tlh.api.links import CodeRequest, IdentityAnswer, LinkState
from tlh.domain.links import RedeemState
from tlh.errors import BadRequest
from tlh.server.http import ctx, decode, max_body, public, respond
from tlh.server.keys import CTX, ICE, IDENTITY
from tlh.server.origin import check_origin
from tlh.server.routes.links import cookie_link, next_step
from tlh.services import identity, locations
from tlh.services.links import appointment_of, redeemable
from tlh.services.waiting_view import clinician_name

routes = web.RouteTableDef()

_MAX_BODY = 1024


async def verified(app: web.Application, link_id: str, session: str | None) -> bool:
    """For the participant websocket: may this link session enter the waiting room?

    False until the identity check passed, when the policy asks for one.
    """
    return await identity.verified(app[CTX], app[IDENTITY], link_id, session)


@routes.get("/api/v1/link/state")
@public
async def state(request: web.Request) -> web.Response:
    """What the page shows next, and what it needs for the call (ICE servers)."""
    link, session = await cookie_link(request)
    c = ctx(request)
    policy = c.policy()
    mode = await identity.mode(c, link)
    passed = await identity.passed(c, request.app[IDENTITY], link, session)
    verdict = await redeemable(c, link, c.clock())
    appt = await appointment_of(c, link)
    answer = LinkState(
        next=await next_step(request, link, verified=passed),
        identity=mode,
        participant=link.participant,
        practice_name=policy.practice_name,
        clinician_name=await clinician_name(c, link),
        ice_servers=request.app[ICE].servers(link.id, appt.end if appt is not None else None),
        starts_at=appt.start if appt is not None else None,
        ends_at=appt.end if appt is not None else None,
        opens_at=verdict.opens_at if verdict.state is RedeemState.EARLY else None,
        contact_phone=policy.contact_phone,
        contact_email=policy.contact_email,
        ask_location=await locations.required(c, link),
    )
    return respond(answer)


@routes.post("/api/v1/link/identity")
@public
@max_body(_MAX_BODY)
async def answer(request: web.Request) -> web.Response:
    """Check a date of birth or a code; 204 when it matches."""
    check_origin(request)
    link, session = await cookie_link(request)
    given = await decode(request, IdentityAnswer, invalid=BadRequest)  # tested: 400
    await identity.check(
        ctx(request), request.app[IDENTITY], link, session, given, request.remote or ""
    )
    return web.Response(status=204)


@routes.post("/api/v1/link/identity/code")
@public
@max_body(_MAX_BODY)
async def send_code(request: web.Request) -> web.Response:
    """Send a fresh one-time code to the address on file for the link's holder."""
    check_origin(request)
    link, _ = await cookie_link(request)
    channel = (await decode(request, CodeRequest, invalid=BadRequest)).channel  # tested: 400
    await identity.send_code(
        ctx(request), request.app[IDENTITY], link, channel, request.remote or ""
    )
    return web.Response(status=204)
