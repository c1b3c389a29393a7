"""Staff routes for invitations and join links (send, day, copy, quick, guest, website)."""

from __future__ import annotations

import dataclasses

from aiohttp import web

from tlh.api.invites import (
    CopyLink,
    DayInvite,
    GuestLink,
    Invite,
    LinkUrl,
    QuickSession,
    WebsiteSnippet,
)
from tlh.server.http import ALL_STAFF, EDITORS, actor, ctx, decode, items, requires, respond
from tlh.server.keys import ROOMS
from tlh.services import invites, links, rooms
from tlh.services.context import Context
from tlh.services.links import OutreachContext

routes = web.RouteTableDef()


def link_ctx(request: web.Request) -> Context:
    """The context, with links pointing at the address the caller reached us by when no
    public URL is configured (the listening port may have been picked at random)."""
    c = ctx(request)
    if isinstance(c, OutreachContext):
        return dataclasses.replace(c, own_url=f"{request.scheme}://{request.host}")
    return c


@routes.post("/api/v1/invites")
@requires(*ALL_STAFF)
async def send(request: web.Request) -> web.Response:
    sent = await invites.invite(link_ctx(request), actor(request), await decode(request, Invite))
    return respond(sent, 201)


@routes.post("/api/v1/invites/day")
@requires(*EDITORS)
async def day(request: web.Request) -> web.Response:
    day_ = await decode(request, DayInvite)
    return respond(await invites.invite_day(link_ctx(request), actor(request), day_))


@routes.post("/api/v1/invites/link")
@requires(*ALL_STAFF)
async def copy(request: web.Request) -> web.Response:
    wanted = await decode(request, CopyLink)
    link, url = await rooms.copy_link(link_ctx(request), actor(request), wanted)
    return respond(LinkUrl(link=link, url=url), 201)


@routes.post("/api/v1/invites/quick")
@requires(*ALL_STAFF)
async def quick(request: web.Request) -> web.Response:
    wanted = await decode(request, QuickSession)
    made = await rooms.quick(link_ctx(request), actor(request), wanted, request.app[ROOMS].state)
    return respond(made, 201)


@routes.post("/api/v1/invites/guest")
@requires(*ALL_STAFF)
async def guest(request: web.Request) -> web.Response:
    clinician = (await decode(request, GuestLink)).clinician
    link, url = await rooms.guest_link(link_ctx(request), actor(request), clinician)
    return respond(LinkUrl(link=link, url=url), 201)


@routes.get("/api/v1/invites/website")
@requires(*ALL_STAFF)
async def website(request: web.Request) -> web.Response:
    clinician = request.query.get("clinician")
    html = await rooms.website_snippet(link_ctx(request), actor(request), clinician)
    return respond(WebsiteSnippet(html=html))


@routes.get("/api/v1/appointments/{id}/links")
@requires(*ALL_STAFF)
async def list_links(request: web.Request) -> web.Response:
    return items(await links.list_links(ctx(request), actor(request), request.match_info["id"]))


@routes.post("/api/v1/links/{id}/revoke")
@requires(*EDITORS)
async def revoke(request: web.Request) -> web.Response:
    return respond(await links.revoke_link(ctx(request), actor(request), request.match_info["id"]))


@routes.post("/api/v1/links/{id}/resend")
@requires(*EDITORS)
async def resend(request: web.Request) -> web.Response:
    sent = await invites.resend(link_ctx(request), actor(request), request.match_info["id"])
    return respond(sent, 201)
