"""A clinician acts only on their own appointments, rooms, clients and sessions.

The rule is ``tlh.domain.scope``; every service a clinician can reach asks here before
it acts. Admins, schedulers and the system are not limited here (their roles are
checked by each service).

A record named by id that is another clinician's answers exactly as a record that does
not exist (404 ``not_found``, the same message), so ids cannot be probed; it is raised as
``OutOfScope`` so the server audits the attempt (``scope.denied``, the record's id).
Naming another clinician (a staff id or email, which every staff member may list) is
refused with 403.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Protocol

from tlh.domain import scope as rule
from tlh.domain.models import Appointment, Client
from tlh.domain.sessions import SessionSegment
from tlh.errors import Forbidden, NotFound, OutOfScope
from tlh.services.context import Actor, Context

#: The message of a missing (or another clinician's) appointment.
NO_APPOINTMENT = "no appointment with that id"


class RoomClients(Protocol):
    """The live waiting rooms, as far as scope needs them."""

    def clients_in(self, clinician_id: str) -> set[str]:
        """Ids of the clients with a live entry in a clinician's room."""
        ...


def limited(actor: Actor) -> bool:
    """Whether the actor acts only on their own records (a clinician)."""
    return actor.kind == "staff" and rule.limited(actor.role)


def check_appointment(actor: Actor, appt: Appointment) -> None:
    """A clinician acts on an appointment they are listed on (404 otherwise)."""
    if limited(actor) and not rule.own_appointment(actor.id, appt):
        raise OutOfScope(NO_APPOINTMENT, appt.id)


def check_schedule(actor: Actor, clinician_id: str | None) -> str | None:
    """The clinician whose appointments a list may show: a clinician's own (naming
    another is 403), anyone's (``None``: all) for admins and schedulers."""
    if not limited(actor):
        return clinician_id
    if clinician_id not in (None, actor.id):
        raise Forbidden("clinicians see their own schedule")
    return actor.id


def check_room(actor: Actor, clinician_id: str | None) -> None:
    """A clinician names only their own room (403 otherwise: staff are no secret)."""
    if limited(actor) and not rule.own_room(actor.id, clinician_id):
        raise Forbidden("clinicians act on their own room")


def owns_room(actor: Actor, clinician_id: str | None) -> bool:
    """Whether the actor may act in that room (or the shared queue)."""
    return not limited(actor) or rule.own_room(actor.id, clinician_id)


async def check_client(
    ctx: Context, actor: Actor, client_id: str, rooms: RoomClients | None = None
) -> None:
    """A clinician acts on a client of one of their appointments or in their room (the
    same 404 as an unknown client otherwise)."""
    if not limited(actor) or await owns_client(ctx, actor.id, client_id, rooms):
        return
    if await ctx.store.get(Client, client_id) is not None:
        raise OutOfScope(f"no client {client_id}", client_id)
    raise NotFound(f"no client {client_id}")


async def owns_client(
    ctx: Context, staff_id: str, client_id: str, rooms: RoomClients | None = None
) -> bool:
    """Whether the client is the staff member's as a clinician (``tlh.domain.scope``)."""
    in_room = rooms.clients_in(staff_id) if rooms is not None else set()
    found = await ctx.store.get(Client, client_id)
    assigned = found.clinician_ids if found is not None else ()
    seen = await ctx.store.clinicians_seen(client_id, ctx.clock() - rule.RECENT)
    return rule.own_client(staff_id, client_id, seen, in_room, assigned=assigned)


async def clinicians_of(ctx: Context, client: Client) -> set[str]:
    """The clinicians the client is theirs (the audience of events about the client)."""
    seen = await ctx.store.clinicians_seen(client.id, ctx.clock() - rule.RECENT)
    return seen | set(client.clinician_ids)


async def visible_clients(
    ctx: Context, actor: Actor, clients: Iterable[Client], rooms: RoomClients | None = None
) -> list[Client]:
    """The clients the actor may see (a clinician: their own)."""
    if not limited(actor):
        return list(clients)
    return [c for c in clients if await owns_client(ctx, actor.id, c.id, rooms)]


async def leads_or_listed(ctx: Context, staff_id: str, segment: SessionSegment) -> bool:
    """Whether the staff member leads the segment or is listed on its appointment
    (whatever their role: an admin joining a clinician's visit is not in their own)."""
    found = await ctx.store.get(Appointment, segment.appointment_id or "")
    appt = found
    return rule.own_segment(staff_id, segment, appt)


async def owns_segment(ctx: Context, actor: Actor, segment: SessionSegment) -> bool:
    """Whether the actor may act on (or see) a session segment."""
    return not limited(actor) or await leads_or_listed(ctx, actor.id, segment)


async def check_segment(ctx: Context, actor: Actor, segment: SessionSegment) -> None:
    """A clinician acts on a segment they lead or of their appointment (404 otherwise)."""
    if not await owns_segment(ctx, actor, segment):
        raise OutOfScope(f"no session {segment.id}", segment.id)


async def visible_segments(
    ctx: Context, actor: Actor, segments: Collection[SessionSegment]
) -> list[SessionSegment]:
    """The segments the actor may see (a clinician: their own)."""
    return [s for s in segments if await owns_segment(ctx, actor, s)]
