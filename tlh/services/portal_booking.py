"""Self-scheduling on the client portal (issue 13 item 5): whom a client may book, the
open slots of one of their clinicians, booking one, and asking to move a visit.

The rules are the booking services' own (``tlh.services.self_booking``: policy
``self_scheduling``, notice, horizon, availability and its modes, one winner of a race;
``tlh.services.reschedule``); here is the portal's scoping: only clients the signed-in
person acts for (else 404, as for none), acting as that client or as their contact.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tlh.api.portal_booking import (
    PortalBook,
    PortalBookingFor,
    PortalBookingOptions,
    PortalClinician,
    PortalMoveAsked,
)
from tlh.domain.action_links import LinkAction, appointment_refusal
from tlh.domain.models import (
    Appointment,
    AvailabilityMode,
    Client,
    Modality,
    SelfScheduling,
    Staff,
)
from tlh.domain.reschedule import RequestState, RescheduleRequest
from tlh.domain.slots import Slot
from tlh.domain.timeutil import local_day_bounds, zone
from tlh.errors import BadRequest, NotFound
from tlh.services import scope, self_booking
from tlh.services.availability import blocks_of
from tlh.services.client_actions import person_actor
from tlh.services.context import Actor, Context
from tlh.services.portal_actions import acting_as
from tlh.services.portal_people import NO_CLIENT, Principal
from tlh.services.reschedule import request_reschedule
from tlh.services.slots import parse_day, parse_modality, slots_for

#: The most days one question for slots may span (the page asks for one day).
MAX_DAYS_ASKED = 31
NO_CLINICIAN = "no such clinician"
#: The modalities each block mode offers, in the order the page lists them.
_OFFERS = {
    AvailabilityMode.TELEHEALTH_ONLY: (Modality.TELEHEALTH,),
    AvailabilityMode.IN_PERSON: (Modality.IN_PERSON,),
    AvailabilityMode.BOTH: (Modality.TELEHEALTH, Modality.IN_PERSON),
}


def _enabled(ctx: Context) -> bool:
    return ctx.policy().self_scheduling is SelfScheduling.CLIENTS


async def _client(ctx: Context, principal: Principal, client_id: str) -> Client:
    found = await ctx.store.get(Client, principal.require(client_id))
    if found is None:
        raise NotFound(NO_CLIENT)
    return found


def _actor(principal: Principal, client_id: str) -> Actor:
    return person_actor(client_id, principal.contact_id_for(client_id), principal.source)


async def bookable(ctx: Context, client: Client) -> list[PortalClinician]:
    """The client's clinicians (assigned, or seen lately) who are active and have
    availability, with the modalities their blocks offer; by name."""
    ids = await scope.clinicians_of(ctx, client)
    blocks = await blocks_of(ctx.store, ids)
    found: list[PortalClinician] = []
    for clinician_id in ids:
        staff = await ctx.store.get(Staff, clinician_id)
        if staff is None or not staff.active or not staff.is_clinician:
            continue
        offered = {m for b in blocks.get(clinician_id, []) for m in _OFFERS[b.mode]}
        modes = [m for m in (Modality.TELEHEALTH, Modality.IN_PERSON) if m in offered]
        if modes:
            found.append(PortalClinician(id=staff.id, name=staff.name, modes=modes))
    return sorted(found, key=lambda c: (c.name, c.id))


async def options(ctx: Context, principal: Principal) -> PortalBookingOptions:
    """Whether clients may book here and, if so, whom each of theirs may book (the
    read of each client's clinicians audited ``portal.booking.read``)."""
    policy = ctx.policy()
    clients: list[PortalBookingFor] = []
    if _enabled(ctx):
        for client_id in principal.client_ids:
            client = await ctx.store.get(Client, client_id)
            if client is not None:
                clients.append(
                    PortalBookingFor(client_id=client.id, clinicians=await bookable(ctx, client))
                )
        await ctx.audit.append_many(
            principal.actor, "portal.booking.read", [c.client_id for c in clients]
        )
    return PortalBookingOptions(
        enabled=_enabled(ctx),
        min_notice_h=policy.booking_min_notice_h,
        max_days=policy.booking_max_days,
        clients=clients,
    )


async def open_slots(
    ctx: Context,
    principal: Principal,
    *,
    client_id: str,
    clinician_id: str,
    from_: str | None,
    to: str | None,
    modality: str | None,
) -> list[Slot]:
    """Open slots of one of the client's clinicians on local days ``from_``..``to``
    (inclusive; ``to`` defaults to ``from_``), under the booking rules."""
    if not _enabled(ctx):
        raise self_booking.SelfSchedulingOff("this practice does not take bookings from clients")
    client = await _client(ctx, principal, client_id)
    if clinician_id not in await scope.clinicians_of(ctx, client):
        raise NotFound(NO_CLINICIAN)
    if not from_:
        raise BadRequest("from is required (YYYY-MM-DD)")
    first = parse_day(from_, "from")
    last = parse_day(to, "to") if to else first
    if last < first:
        raise BadRequest("from is after to")
    if (last - first).days >= MAX_DAYS_ASKED:
        raise BadRequest(f"ask for at most {MAX_DAYS_ASKED} days at a time")
    tz = zone(ctx.policy().timezone)
    start, _ = local_day_bounds(first, tz)
    _, end = local_day_bounds(last, tz)
    return await slots_for(ctx, [clinician_id], start, end, parse_modality(modality))


async def book(ctx: Context, principal: Principal, given: PortalBook) -> Appointment:
    """Book the open slot for a client they act for, as that client (or their contact):
    ``book_slot``'s rules and refusals (409 ``slot_gone`` to the loser of a race)."""
    client = await _client(ctx, principal, given.client_id)
    made = await self_booking.book_slot(
        ctx,
        _actor(principal, client.id),
        client.id,
        given.clinician_id,
        given.start,
        given.modality,
    )
    return made.items[0]


async def request_move(
    ctx: Context, principal: Principal, appt_id: str, start: datetime
) -> PortalMoveAsked:
    """Ask staff to move an appointment of a client they act for to an open slot
    (``request_reschedule``'s rules: stored pending, one at a time, staff told)."""
    _, actor = await acting_as(ctx, principal, appt_id)
    req = await request_reschedule(ctx, actor, appt_id, start)
    return PortalMoveAsked(
        id=req.id, appointment_id=req.appointment_id, start=req.start, state=req.state.value
    )


async def move_asked(ctx: Context, appt: Appointment) -> RescheduleRequest | None:
    """The request to move ``appt`` that waits for staff, if any."""
    for req in await ctx.store.find(RescheduleRequest, "appointment_id", appt.id):
        if req.state is RequestState.PENDING:
            return req
    return None


async def move_offers(ctx: Context, appt: Appointment, now: datetime) -> dict[str, Any]:
    """What the portal offers on ``appt`` for moving it (the fields of
    ``PortalAppointment``): its clinician, ``can_move`` and ``move_asked``."""
    asked = await move_asked(ctx, appt) if _enabled(ctx) else None
    open_ = appointment_refusal(appt, LinkAction.CANCEL, now) is None
    return {
        "clinician_id": appt.clinician_ids[0] if appt.clinician_ids else None,
        "can_move": _enabled(ctx) and open_ and asked is None,
        "move_asked": asked.start if asked is not None else None,
    }
