"""Staff routes of the client portal (issue 13): invite, list, revoke (admins and
schedulers; ``tlh portal ...``)."""

from __future__ import annotations

from aiohttp import web

from tlh.api.portal import PortalInvite, PortalRevoke, PortalRevoked
from tlh.server.http import EDITORS, actor, ctx, decode, items, requires, respond
from tlh.server.keys import PORTAL_SESSIONS
from tlh.server.origin import check_origin
from tlh.services import portal_access

routes = web.RouteTableDef()


@routes.post("/api/v1/portal/invite")
@requires(*EDITORS)
async def invite(request: web.Request) -> web.Response:
    """Turn portal access on for a client or contact and send a sign-in invitation."""
    check_origin(request, required=False)
    given = await decode(request, PortalInvite)
    return respond(await portal_access.invite(ctx(request), actor(request), given), 201)


@routes.get("/api/v1/portal/access")
@requires(*EDITORS)
async def access(request: web.Request) -> web.Response:
    """Who may sign in to the portal, when they last did, their open sessions."""
    sessions = request.app[PORTAL_SESSIONS]
    return items(await portal_access.access_list(ctx(request), actor(request), sessions))


@routes.post("/api/v1/portal/revoke")
@requires(*EDITORS)
async def revoke(request: web.Request) -> web.Response:
    """Turn portal access off and end that person's portal sessions."""
    check_origin(request, required=False)
    given = await decode(request, PortalRevoke)
    sessions = request.app[PORTAL_SESSIONS]
    ended = await portal_access.revoke(ctx(request), actor(request), sessions, given)
    return respond(PortalRevoked(sessions_ended=ended))
