"""Staff's view of the waiting rooms: entries labelled for staff, rooms with their line.

Labels carry clients' names, so every view audits the client records it read.
"""

from __future__ import annotations

import asyncio

import msgspec

from tlh.api.rooms import EntryView, Rooms, RoomView
from tlh.domain.models import Role, Staff
from tlh.domain.rooms import RoomEntry, waiting_room_on
from tlh.services import auth, scope, sessions
from tlh.services.context import Actor, Context
from tlh.services.entry_views import entry_views as build_views
from tlh.services.staff import find_staff, list_staff
from tlh.services.waiting_state import RoomState

READERS = (Role.ADMIN, Role.SCHEDULER, Role.CLINICIAN)


async def entry_views(
    ctx: Context, actor: Actor, rooms: RoomState, entries: list[RoomEntry]
) -> list[EntryView]:
    """EntryViews (entry + label, position, consent); the client reads are audited."""
    views, client_ids = await build_views(ctx, rooms.positions, entries)
    if client_ids:
        await ctx.audit.append_many(actor, "client.read", client_ids)
    return views


async def list_rooms(
    ctx: Context, actor: Actor, rooms: RoomState, clinician: str | None = None
) -> Rooms:
    """The named clinician's room, else a clinician's own, else (admins, schedulers)
    every active clinician's; and the shared queue. Audited."""
    auth.require_role(actor, *READERS)
    if clinician:
        wanted = [await find_staff(ctx, clinician)]
        scope.check_room(actor, wanted[0].id)
    elif actor.role is Role.CLINICIAN:
        wanted = [await find_staff(ctx, actor.id)]
    else:
        wanted = [s for s in await list_staff(ctx) if s.is_clinician and s.active]
    shown = [await _room_view(ctx, rooms, staff) for staff in wanted]
    queue, read = await build_views(ctx, rooms.positions, rooms.live(None))
    if scope.limited(actor):
        # Minimum necessary: who waits in the shared queue, by first name (and not where
        # they are), unless the client is the clinician's own.
        queue = [
            view
            if view.client_id is None
            or await scope.owns_client(ctx, actor.id, view.client_id, rooms)
            else msgspec.structs.replace(view, label=first_names(view.label), location=None)
            for view in queue
        ]
    read += [cid for _, client_ids in shown for cid in client_ids]
    # Both audit records go in one group commit: the dashboard waits on this answer.
    audits = [ctx.audit.append_many(actor, "room.read", [s.id for s in wanted] or ["queue"])]
    if read:
        audits.append(ctx.audit.append_many(actor, "client.read", sorted(set(read))))
    await asyncio.gather(*audits)
    return Rooms(items=[view for view, _ in shown], queue=queue)


async def own_room(ctx: Context, actor: Actor, rooms: RoomState) -> RoomView:
    """The calling clinician's RoomView (the client reads audited)."""
    view, read = await _room_view(ctx, rooms, await find_staff(ctx, actor.id))
    if read:
        await ctx.audit.append_many(actor, "client.read", read)
    return view


async def _room_view(ctx: Context, rooms: RoomState, staff: Staff) -> tuple[RoomView, list[str]]:
    """A clinician's room and the ids of the clients it shows (the caller audits them)."""
    entries, client_ids = await build_views(ctx, rooms.positions, rooms.live(staff.id))
    view = RoomView(
        clinician_id=staff.id,
        name=staff.name,
        presence=rooms.presence_of(staff.id),
        waiting_room=waiting_room_on(staff, ctx.policy()),
        sessions=await sessions.open_segments_of(ctx, staff.id),
        entries=entries,
    )
    return view, client_ids


def first_names(label: str) -> str:
    """A label cut to first names: "Ana Lopez" → "Ana", "Caregiver of Ana Lopez" →
    "Caregiver of Ana"."""
    prefix = "Caregiver of "
    if label.startswith(prefix):
        return prefix + first_names(label.removeprefix(prefix))
    return label.split(" ", 1)[0]
