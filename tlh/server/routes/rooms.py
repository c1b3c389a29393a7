"""Staff's view of the waiting rooms and what they do there (admit, deny, message...).

Labels carry clients' names, so every listing audits the client records it read
(``tlh.services.room_views``).
"""

from __future__ import annotations

from aiohttp import web

from tlh.api.rooms import (
    Admit,
    AdmittedAll,
    Deny,
    EntryMessage,
    PresenceChange,
    RoomChoice,
    RoomMessage,
    SentCount,
    Transfer,
)
from tlh.domain.models import Role
from tlh.domain.rooms import Presence, RoomEntry
from tlh.errors import BadRequest
from tlh.server.http import ALL_STAFF, actor, ctx, decode, requires, respond
from tlh.server.keys import ROOMS
from tlh.services import room_views
from tlh.services.context import Actor, Context
from tlh.services.staff import find_staff

routes = web.RouteTableDef()

ADMITTERS = (Role.ADMIN, Role.CLINICIAN)


async def _clinician(c: Context, who: Actor, ref: str | None) -> str:
    """The room meant: the named clinician, else the caller's own."""
    if ref:
        return (await find_staff(c, ref)).id
    if who.is_clinician:
        return who.id
    raise BadRequest("name the clinician (id or email)")


async def _one(request: web.Request, entry: RoomEntry) -> web.Response:
    state = request.app[ROOMS].state
    views = await room_views.entry_views(ctx(request), actor(request), state, [entry])
    return respond(views[0])


@routes.get("/api/v1/rooms")
@requires(*ALL_STAFF)
async def list_rooms(request: web.Request) -> web.Response:
    """Rooms (a clinician's own by default; admins and schedulers all) and the queue."""
    found = await room_views.list_rooms(
        ctx(request), actor(request), request.app[ROOMS].state, request.query.get("clinician")
    )
    return respond(found)


@routes.post("/api/v1/rooms/entries/{id}/admit")
@requires(*ADMITTERS)
async def admit(request: web.Request) -> web.Response:
    approve = (await decode(request, Admit)).approve_second_device
    rooms = request.app[ROOMS]
    entry = await rooms.staff.admit(
        actor(request), request.match_info["id"], approve_second_device=approve
    )
    return await _one(request, entry)


@routes.post("/api/v1/rooms/admit-all")
@requires(*ADMITTERS)
async def admit_all(request: web.Request) -> web.Response:
    c, who = ctx(request), actor(request)
    choice = await decode(request, RoomChoice)
    rooms = request.app[ROOMS]
    done = await rooms.staff.admit_all(who, await _clinician(c, who, choice.clinician))
    return respond(AdmittedAll(admitted=await room_views.entry_views(c, who, rooms.state, done)))


@routes.post("/api/v1/rooms/entries/{id}/deny")
@requires(*ADMITTERS)
async def deny(request: web.Request) -> web.Response:
    message = (await decode(request, Deny)).message
    entry = await request.app[ROOMS].staff.deny(actor(request), request.match_info["id"], message)
    return await _one(request, entry)


@routes.post("/api/v1/rooms/entries/{id}/return")
@requires(*ADMITTERS)
async def send_back(request: web.Request) -> web.Response:
    entry = await request.app[ROOMS].staff.send_back(actor(request), request.match_info["id"])
    return await _one(request, entry)


@routes.post("/api/v1/rooms/entries/{id}/message")
@requires(*ALL_STAFF)
async def message(request: web.Request) -> web.Response:
    text = (await decode(request, EntryMessage)).text
    await request.app[ROOMS].staff.message(actor(request), request.match_info["id"], text)
    return web.Response(status=204)


@routes.post("/api/v1/rooms/message")
@requires(*ALL_STAFF)
async def message_all(request: web.Request) -> web.Response:
    c, who = ctx(request), actor(request)
    message = await decode(request, RoomMessage)
    room = await _clinician(c, who, message.clinician)
    sent = await request.app[ROOMS].staff.message_all(who, room, message.text)
    return respond(SentCount(sent=sent))


@routes.post("/api/v1/rooms/entries/{id}/transfer")
@requires(*ALL_STAFF)
async def transfer(request: web.Request) -> web.Response:
    to = (await decode(request, Transfer)).to
    entry = await request.app[ROOMS].staff.transfer(actor(request), request.match_info["id"], to)
    return await _one(request, entry)


@routes.post("/api/v1/rooms/next")
@requires(*ADMITTERS)
async def next_(request: web.Request) -> web.Response:
    c, who = ctx(request), actor(request)
    choice = await decode(request, RoomChoice)
    entry = await request.app[ROOMS].staff.next(who, await _clinician(c, who, choice.clinician))
    return await _one(request, entry)


@routes.post("/api/v1/rooms/presence")
@requires(Role.CLINICIAN)
async def presence(request: web.Request) -> web.Response:
    c, who = ctx(request), actor(request)
    presence = (await decode(request, PresenceChange)).presence
    rooms = request.app[ROOMS]
    await rooms.staff.set_presence(who, Presence(presence))
    return respond(await room_views.own_room(c, who, rooms.state))
