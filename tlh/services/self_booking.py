"""A client (or a contact acting for them) books an open slot.

Refused unless the practice lets clients book (policy ``self_scheduling``), and refused
with a code of its own in the past, inside the minimum notice, beyond the horizon,
outside the clinician's availability or its mode, or when the slot is taken. The slot
is checked again, and the appointment stored, inside the clinician's schedule lock
(``tlh.services.appointments.create``), so of two clients booking one slot at once
exactly one wins; the other is told the slot is gone (409 ``slot_gone``).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from tlh.api.appointments import Booking, NewAppointment
from tlh.domain.audience import concerning
from tlh.domain.models import Client, Modality, Role, SelfScheduling, Staff, Status
from tlh.domain.slots import Bounds, Slot, open_slots
from tlh.domain.timeutil import local_day_bounds, zone
from tlh.errors import Conflict, Forbidden, InvalidInput, NotFound
from tlh.services import auth, booking, scope
from tlh.services.availability import blocks_of
from tlh.services.context import Actor, Context
from tlh.services.slots import slots_for

EDITORS = (Role.ADMIN, Role.SCHEDULER)


class SelfSchedulingOff(Forbidden):
    """The practice does not let clients book (policy ``self_scheduling`` is off)."""

    code = "self_scheduling_off"


class InThePast(InvalidInput):
    code = "in_the_past"


class TooSoon(InvalidInput):
    """Inside the minimum notice (``booking_min_notice_h``)."""

    code = "too_soon"


class TooFar(InvalidInput):
    """Beyond the horizon (``booking_max_days``)."""

    code = "too_far"


class NotOpen(InvalidInput):
    """Not an open slot of the clinician's availability."""

    code = "not_open"


class WrongMode(InvalidInput):
    """An open slot, but not for the modality asked (in person only, or video only)."""

    code = "wrong_mode"


class SlotGone(Conflict):
    """Someone else booked the slot (or the clinician's time was taken) first."""

    code = "slot_gone"


GONE = "that time was just taken; please pick another slot"


async def may_act_for(ctx: Context, actor: Actor, client_id: str) -> Client:
    """The client, when ``actor`` may book for them: staff who book (admins,
    schedulers), the client themself, or one of their contacts; else as unknown."""
    found = await ctx.store.get(Client, client_id)
    if found is None:
        raise NotFound("no such client")
    if actor.kind == "staff":
        auth.require_role(actor, *EDITORS)
        return found
    if actor.id == found.id or any(c.id == actor.id for c in found.contacts):
        return found
    raise NotFound("no such client")  # another's client is as unknown as a missing one


def check_time(ctx: Context, start: datetime) -> None:
    """Refuse a start in the past, inside the notice or beyond the horizon."""
    now, policy = ctx.clock(), ctx.policy()
    if start <= now:
        raise InThePast("that time has passed")
    if start < now + timedelta(hours=policy.booking_min_notice_h):
        raise TooSoon(f"bookings need {policy.booking_min_notice_h} hours' notice")
    if start > now + timedelta(days=policy.booking_max_days):
        raise TooFar(f"bookings open {policy.booking_max_days} days ahead at most")


async def find_slot(ctx: Context, clinician_id: str, start: datetime, modality: Modality) -> Slot:
    """The open slot starting at ``start``, or why there is none (``NotOpen``,
    ``WrongMode``, ``SlotGone``)."""
    tz = zone(ctx.policy().timezone)
    day = start.astimezone(tz).date()
    first, _ = local_day_bounds(day, tz)
    _, last = local_day_bounds(day + timedelta(days=1), tz)
    for slot in await slots_for(ctx, [clinician_id], first, last, None):
        if slot.start == start:
            if modality not in slot.modes:
                raise WrongMode(f"that time is not offered {_said(modality)}")
            return slot
    # Not open: is it a slot of the availability at all (then it is taken)?
    within = Bounds(earliest=first, latest=last, until=last)
    blocks = await blocks_of(ctx.store, [clinician_id])
    policy = ctx.policy()
    for slot in open_slots(blocks, {}, tz, within, policy.booking_slot_min):
        if slot.start == start:
            raise SlotGone(GONE)
    raise NotOpen("that time is not an open slot of the clinician")


def _said(modality: Modality) -> str:
    return "by video" if modality is Modality.TELEHEALTH else "in person"


async def book_slot(
    ctx: Context,
    actor: Actor,
    client_id: str,
    clinician_id: str,
    start: datetime,
    modality: Modality,
) -> Booking:
    """Book the client into the clinician's open slot at ``start`` (aware) for
    ``modality``: stored scheduled (confirmed when the policy's ``booking_confirms``),
    the usual invitation sent, staff told (event ``appointment.self_booked``)."""
    policy = ctx.policy()
    # Staff booking through this path (the slot picker) follow the same rules.
    if policy.self_scheduling is not SelfScheduling.CLIENTS:
        raise SelfSchedulingOff("this practice does not take bookings from clients")
    client = await may_act_for(ctx, actor, client_id)
    clinician = await ctx.store.get(Staff, clinician_id)
    if clinician is None or not clinician.active or not clinician.is_clinician:
        raise NotFound("no such clinician")
    if actor.kind != "staff" and clinician.id not in await scope.clinicians_of(ctx, client):
        raise NotFound("no such clinician")  # a client books their own clinicians
    if start.tzinfo is None:
        raise InvalidInput("the start needs a time zone offset")
    check_time(ctx, start)
    slot = await find_slot(ctx, clinician.id, start, Modality(modality))
    new = NewAppointment(
        client_ids=[client.id],
        clinicians=[clinician.id],
        start=slot.start.isoformat(),
        duration_min=int((slot.end - slot.start).total_seconds() // 60),
        modality=modality,
        status=Status.CONFIRMED if policy.booking_confirms else Status.SCHEDULED,
    )
    try:
        # Checked again inside the schedule lock: conflicts, and availability (strict).
        made = await booking.book(ctx, actor, new, strict_availability=True, client_booking=True)
    except Conflict as exc:
        raise SlotGone(GONE) from exc
    appt = made.items[0]
    ctx.events.publish(
        "appointment.self_booked",
        {
            "id": appt.id,
            "client_id": client_id,
            "start": appt.start.isoformat(),
            "clinician_ids": list(appt.clinician_ids),
            "modality": appt.modality.value,
            "status": appt.status.value,
        },
        concerning(*appt.clinician_ids),
    )
    return made
