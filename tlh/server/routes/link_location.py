"""Where the client is at session start (policy ``ask_location``; link cookie, issue 13).

``GET /api/v1/link/location`` fills the page's form with the last location the person
gave (and says whether this visit still needs one); ``POST`` records where they are now.
The waiting room's hello is refused until then (``tlh.server.routes.participant_ws``).
The answers carry patient data: never cached, never in a URL.
"""

from __future__ import annotations

from aiohttp import web

from tlh.api.links import LocationGiven, LocationShown
from tlh.domain.links import JoinLink
from tlh.errors import Forbidden
from tlh.server.http import ctx, decode, max_body, public, respond
from tlh.server.origin import check_origin
from tlh.server.routes.link_identity import verified
from tlh.server.routes.links import COOKIE
from tlh.server.routes.participant_ws import participant_link
from tlh.services import locations
from tlh.services.context import Actor

routes = web.RouteTableDef()

_MAX_BODY = 2048


async def _holder(request: web.Request) -> tuple[JoinLink, Actor]:
    """The live join link behind the cookie and its holder as the actor, once past the
    identity check (401 without a live link, 403 before the check)."""
    link = await participant_link(request)
    if not await verified(request.app, link.id, request.cookies.get(COOKIE)):
        raise Forbidden("please confirm who you are first")
    return link, Actor(kind="client_link", id=link.id, source=request.remote or "")


@routes.get("/api/v1/link/location")
@public
async def shown(request: web.Request) -> web.Response:
    """The last location this person gave (empty when none), and whether this visit
    still needs one."""
    link, who = await _holder(request)
    c = ctx(request)
    last = await locations.last_given(c, who, link)
    answer = LocationShown(
        required=await locations.required(c, link),
        place=last.place if last is not None else "",
        phone=last.phone if last is not None else "",
    )
    response = respond(answer)
    response.headers["Cache-Control"] = "no-store"
    return response


@routes.post("/api/v1/link/location")
@public
@max_body(_MAX_BODY)
async def give(request: web.Request) -> web.Response:
    """Record where the person is now and a phone number to reach them (204)."""
    check_origin(request)
    link, who = await _holder(request)
    given = await decode(request, LocationGiven)
    await locations.give(ctx(request), who, link, given.place, given.phone)
    return web.Response(status=204)
