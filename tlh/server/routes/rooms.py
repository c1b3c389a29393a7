"""Staff's view of the waiting rooms and what they do there (admit, deny, message...).

Labels carry clients' names, so every listing audits the client records it read.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from tlh.domain.models import Role, Staff
from tlh.domain.rooms import RoomEntry, waiting_room_on
from tlh.errors import BadRequest, Forbidden
from tlh.server.http import ALL_STAFF, actor, body, ctx, requires, respond
from tlh.server.keys import ROOMS
from tlh.services import sessions
from tlh.services.context import Actor, Context
from tlh.services.entry_views import entry_views
from tlh.services.staff import find_staff, list_staff
from tlh.services.waiting import Rooms

routes = web.RouteTableDef()

ADMITTERS = (Role.ADMIN, Role.CLINICIAN)


def _clinician(c: Context, who: Actor, ref: object) -> str:
    """The room meant: the named clinician, else the caller's own."""
    if ref is not None and not isinstance(ref, str):
        raise BadRequest("clinician must be an id or an email")
    if ref:
        return find_staff(c, ref).id
    if who.role is Role.CLINICIAN:
        return who.id
    raise BadRequest("name the clinician (id or email)")


async def audited_views(
    c: Context, who: Actor, rooms: Rooms, entries: list[RoomEntry]
) -> list[dict[str, Any]]:
    """EntryViews (entry + label, position, consent); the client reads are audited."""
    views, client_ids = entry_views(c, rooms.positions, entries)
    if client_ids:
        await c.audit.append_many(who, "client.read", client_ids)
    return views


async def _one(request: web.Request, entry: RoomEntry) -> web.Response:
    rooms = request.app[ROOMS]
    return respond((await audited_views(ctx(request), actor(request), rooms, [entry]))[0])


@routes.get("/api/v1/rooms")
@requires(*ALL_STAFF)
async def list_rooms(request: web.Request) -> web.Response:
    """Rooms (a clinician's own by default; admins and schedulers all) and the queue."""
    c, who, rooms = ctx(request), actor(request), request.app[ROOMS]
    ref = request.query.get("clinician")
    if ref:
        wanted = [find_staff(c, ref)]
        if who.role is Role.CLINICIAN and wanted[0].id != who.id:
            raise Forbidden("clinicians see their own room")
    elif who.role is Role.CLINICIAN:
        wanted = [find_staff(c, who.id)]
    else:
        wanted = [s for s in list_staff(c) if s.role is Role.CLINICIAN and s.active]
    items = [_room_view(c, rooms, staff) for staff in wanted]
    queue, read = entry_views(c, rooms.positions, rooms.live(None))
    read += [cid for item in items for cid in item.pop("client_ids")]
    # Both audit records go in one group commit: the dashboard waits on this answer.
    audits = [c.audit.append_many(who, "room.read", [s.id for s in wanted] or ["queue"])]
    if read:
        audits.append(c.audit.append_many(who, "client.read", sorted(set(read))))
    await asyncio.gather(*audits)
    return respond({"items": items, "queue": queue})


def _room_view(c: Context, rooms: Rooms, staff: Staff) -> dict[str, Any]:
    entries, client_ids = entry_views(c, rooms.positions, rooms.live(staff.id))
    return {
        "clinician_id": staff.id,
        "name": staff.name,
        "presence": rooms.presence_of(staff.id).value,
        "waiting_room": waiting_room_on(staff, c.policy()),
        "sessions": sessions.open_segments_of(c, staff.id),
        "entries": entries,
        "client_ids": client_ids,
    }


@routes.post("/api/v1/rooms/entries/{id}/admit")
@requires(*ADMITTERS)
async def admit(request: web.Request) -> web.Response:
    data = await body(request)
    approve = data.get("approve_second_device", False)
    if not isinstance(approve, bool):
        raise BadRequest("approve_second_device must be true or false")
    rooms = request.app[ROOMS]
    entry = await rooms.admit(
        actor(request), request.match_info["id"], approve_second_device=approve
    )
    return await _one(request, entry)


@routes.post("/api/v1/rooms/admit-all")
@requires(*ADMITTERS)
async def admit_all(request: web.Request) -> web.Response:
    c, who, data = ctx(request), actor(request), await body(request)
    rooms = request.app[ROOMS]
    done = await rooms.admit_all(who, _clinician(c, who, data.get("clinician")))
    return respond({"admitted": await audited_views(c, who, rooms, done)})


@routes.post("/api/v1/rooms/entries/{id}/deny")
@requires(*ADMITTERS)
async def deny(request: web.Request) -> web.Response:
    data = await body(request)
    message = data.get("message")
    if message is not None and not isinstance(message, str):
        raise BadRequest("message must be text")
    entry = await request.app[ROOMS].deny(actor(request), request.match_info["id"], message)
    return await _one(request, entry)


@routes.post("/api/v1/rooms/entries/{id}/return")
@requires(*ADMITTERS)
async def send_back(request: web.Request) -> web.Response:
    entry = await request.app[ROOMS].send_back(actor(request), request.match_info["id"])
    return await _one(request, entry)


@routes.post("/api/v1/rooms/entries/{id}/message")
@requires(*ALL_STAFF)
async def message(request: web.Request) -> web.Response:
    data = await body(request)
    await request.app[ROOMS].message(actor(request), request.match_info["id"], data.get("text"))
    return web.Response(status=204)


@routes.post("/api/v1/rooms/message")
@requires(*ALL_STAFF)
async def message_all(request: web.Request) -> web.Response:
    c, who, data = ctx(request), actor(request), await body(request)
    room = _clinician(c, who, data.get("clinician"))
    sent = await request.app[ROOMS].message_all(who, room, data.get("text"))
    return respond({"sent": sent})


@routes.post("/api/v1/rooms/entries/{id}/transfer")
@requires(*ALL_STAFF)
async def transfer(request: web.Request) -> web.Response:
    data = await body(request)
    to = data.get("to")
    if not isinstance(to, str) or not to:
        raise BadRequest("to must be a clinician id or email")
    entry = await request.app[ROOMS].transfer(actor(request), request.match_info["id"], to)
    return await _one(request, entry)


@routes.post("/api/v1/rooms/next")
@requires(*ADMITTERS)
async def next_(request: web.Request) -> web.Response:
    c, who, data = ctx(request), actor(request), await body(request)
    entry = await request.app[ROOMS].next(who, _clinician(c, who, data.get("clinician")))
    return await _one(request, entry)


@routes.post("/api/v1/rooms/presence")
@requires(Role.CLINICIAN)
async def presence(request: web.Request) -> web.Response:
    c, who, data = ctx(request), actor(request), await body(request)
    rooms = request.app[ROOMS]
    await rooms.set_presence(who, data.get("presence"))
    view = _room_view(c, rooms, find_staff(c, who.id))
    read = view.pop("client_ids")
    if read:
        await c.audit.append_many(who, "client.read", read)
    return respond(view)
