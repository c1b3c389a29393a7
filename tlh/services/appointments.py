"""Appointments: schedule (one or a series), reschedule, status, cancel, explain."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

import msgspec

from tlh.api.appointments import (
    AppointmentChanges,
    Minutes,
    NewAppointment,
)
from tlh.api.envelope import changed_fields
from tlh.domain import conflicts, recurrence, transitions
from tlh.domain.eligibility import explain_start
from tlh.domain.models import (
    Appointment,
    Blocker,
    Client,
    Eligibility,
    Kind,
    Modality,
    Role,
    Staff,
    Status,
)
from tlh.domain.timeutil import check_year, local_day_bounds, parse_local, zone
from tlh.errors import Conflict, InvalidInput, NotFound
from tlh.services import audiences, auth, availability, followups, schedule_locks, scope
from tlh.services.consent import consent_check
from tlh.services.context import Actor, Context, new_id
from tlh.services.staff import find_staff
from tlh.store.base import AuditNote, Op, Put, note, record_key

READERS = (Role.ADMIN, Role.SCHEDULER, Role.CLINICIAN)
WRITERS = (Role.ADMIN, Role.SCHEDULER)
MAX_DURATION_MIN = 24 * 60
#: How far around a candidate to look for colliding entries (longest entry allowed).
_CONFLICT_MARGIN = timedelta(minutes=MAX_DURATION_MIN)


def _duration(value: Minutes) -> int:
    try:
        minutes = int(value)
    except ValueError:
        raise InvalidInput("duration_min must be a whole number of minutes") from None
    if not 0 < minutes <= MAX_DURATION_MIN:
        raise InvalidInput(f"duration_min must be between 1 and {MAX_DURATION_MIN}")
    return minutes


async def _clinicians(ctx: Context, refs: Sequence[str], kind: Kind) -> tuple[str, ...]:
    if not refs:
        raise InvalidInput("an appointment needs at least one clinician")
    ids: list[str] = []
    for ref in refs:
        staff = await find_staff(ctx, str(ref))
        if not staff.active:
            raise InvalidInput(f"staff member {staff.id} is disabled")
        if kind is Kind.APPOINTMENT and not staff.is_clinician:
            raise InvalidInput(f"staff member {staff.id} is not a clinician")
        ids.append(staff.id)
    return tuple(dict.fromkeys(ids))


async def _clients(ctx: Context, ids: Sequence[str], kind: Kind) -> tuple[str, ...]:
    for client_id in ids:
        if await ctx.store.get(Client, str(client_id)) is None:
            raise NotFound(f"no client {client_id}")
    if kind is Kind.APPOINTMENT and not ids:
        raise InvalidInput("an appointment needs at least one client")
    return tuple(dict.fromkeys(str(i) for i in ids))


def copay_amount(value: Any) -> str | None:
    """A copay as a decimal string >= 0 with at most two places, normalised to two.

    ``None`` (or an empty string) clears the amount.
    """
    if value is None or value == "":
        return None
    text = str(value).strip()
    # Decimal, not float: money must round-trip exactly; reject exponents and signs.
    if not text or len(text) > 12 or any(ch not in "0123456789." for ch in text):
        raise InvalidInput("copay_amount must be a decimal amount like 25.00")
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise InvalidInput("copay_amount must be a decimal amount like 25.00") from None
    exponent = amount.as_tuple().exponent
    if not amount.is_finite() or not isinstance(exponent, int) or exponent < -2:
        raise InvalidInput("copay_amount must have at most two decimal places")
    return str(amount.quantize(Decimal("0.01")))


def _start(ctx: Context, value: str, what: str = "start") -> datetime:
    return parse_local(value, zone(ctx.policy().timezone), what)


async def check_conflicts(ctx: Context, candidates: Sequence[Appointment]) -> None:
    """Raise ``Conflict`` listing every collision of ``candidates`` with stored entries."""
    found: list[dict[str, Any]] = []
    for appt in candidates:
        others: list[Appointment] = []
        for clinician_id in appt.clinician_ids:
            others += await ctx.store.appointments_between(
                appt.start - _CONFLICT_MARGIN, appt.end + _CONFLICT_MARGIN, clinician_id
            )
        for hit in conflicts.find_conflicts(appt, others):
            found.append(msgspec.to_builtins(hit))
    if found:
        first = found[0]
        more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
        raise Conflict(f"{first['message']}{more}", details=found)


async def add_appointment(ctx: Context, actor: Actor, new: NewAppointment) -> list[Appointment]:
    """Schedule one appointment, or every occurrence of a series (``rrule``): stored,
    nothing sent (``tlh.services.booking.book`` is what a person booking does)."""
    return (await create(ctx, actor, new, strict_availability=False))[0]


#: What a booking stores with its appointments, in the same commit: given them, the
#: writes and their audit notes (the invitation: no reminder can come between).
Attach = Callable[[list[Appointment]], Awaitable[tuple[list[Op], list[AuditNote]]]]


async def create(
    ctx: Context,
    actor: Actor,
    new: NewAppointment,
    strict_availability: bool,
    attach: Attach | None = None,
    *,
    client_booking: bool = False,
) -> tuple[list[Appointment], list[tuple[str, Blocker]]]:
    """Store the appointments ``new`` gives (refused when outside their clinicians'
    availability and ``strict_availability``), with what ``attach`` adds; and why each
    lies outside availability. ``client_booking``: a client (or their contact) books an
    open slot, and the caller (``tlh.services.self_booking``) checked they may."""
    if not client_booking:
        auth.require_role(actor, *WRITERS)
    kind, modality, status = new.kind, new.modality, new.status
    if modality is Modality.TELEHEALTH and kind is not Kind.APPOINTMENT:
        raise InvalidInput("only appointments can be telehealth")
    start = _start(ctx, new.start)
    duration = _duration(new.duration_min)
    clinician_ids = await _clinicians(ctx, new.clinicians, kind)
    client_ids = await _clients(ctx, new.client_ids, kind)
    external_id = new.external_id or None
    rrule = new.rrule or None
    starts = [start]
    if rrule:
        starts = recurrence.expand(rrule, start, zone(ctx.policy().timezone))
    series_id = new_id("ser") if rrule else None
    now = ctx.clock()
    appts = [
        Appointment(
            id=new_id("apt"),
            kind=kind,
            modality=modality,
            status=status,
            clinician_ids=clinician_ids,
            client_ids=client_ids,
            start=occurrence,
            duration_min=duration,
            series_id=series_id,
            rrule=rrule,
            external_id=(f"{external_id}#{n}" if rrule and n else external_id)
            if external_id
            else None,
            copay_collected=new.copay_collected,
            notes=(new.notes or "")[:2000],
            created_at=now,
            updated_at=now,
        )
        for n, occurrence in enumerate(starts)
    ]
    keys = schedule_locks.schedule(clinician_ids)
    if external_id:
        keys.append(schedule_locks.appointment_external_id(external_id))
    # The checks and the commit are one step: of two bookings of one slot, one wins.
    async with ctx.store.locked(*keys):
        if external_id and await ctx.store.find(Appointment, "external_id", external_id):
            raise Conflict("an appointment with that external id already exists")
        await check_conflicts(ctx, appts)
        warned = await availability.check_availability(ctx.store, ctx.policy(), appts)
        if strict_availability:
            availability.refuse_unavailable(warned)
        ops, notes = await attach(appts) if attach is not None else ([], [])
        await ctx.store.commit(
            [*(Put(a) for a in appts), *ops],
            audit=[note(actor, "appointment.create", *(a.id for a in appts)), *notes],
        )
    for appt in appts:
        ctx.events.publish("appointment.created", event_of(appt), audiences.appointments(appt))
    return appts, warned


def event_of(appt: Appointment) -> dict[str, Any]:
    """Event payload: ids, times and states only (no names, no notes)."""
    return {
        "id": appt.id,
        "status": appt.status.value,
        "start": appt.start.isoformat(),
        "clinician_ids": list(appt.clinician_ids),
        "modality": appt.modality.value,
    }


async def get_appointment(ctx: Context, actor: Actor, appt_id: str) -> Appointment:
    """One appointment: a clinician's own only (another's is as unknown as a missing
    one)."""
    auth.require_role(actor, *READERS)
    appt = await ctx.store.get(Appointment, appt_id)
    if appt is None:
        raise NotFound(scope.NO_APPOINTMENT)
    scope.check_appointment(actor, appt)
    return appt


async def own_appointment(ctx: Context, actor: Actor, appt_id: str) -> Appointment:
    """The appointment, to act on: a clinician's own only."""
    return await get_appointment(ctx, actor, appt_id)


def _parse_day(value: str, what: str) -> date:
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"not a date (YYYY-MM-DD): {value[:20]!r}") from None
    return check_year(day, what)


async def list_appointments(
    ctx: Context,
    actor: Actor,
    *,
    day: str | None = None,
    from_: str | None = None,
    to: str | None = None,
    clinician: str | None = None,
) -> list[Appointment]:
    """Appointments on local days ``from_``..``to`` (inclusive) or one ``day`` (default today)."""
    auth.require_role(actor, *READERS)
    tz = zone(ctx.policy().timezone)
    if day and (from_ or to):
        raise InvalidInput("give either date or from/to, not both")
    if day or not (from_ or to):
        first = last = _parse_day(day, "date") if day else ctx.clock().astimezone(tz).date()
    else:
        first = _parse_day(from_, "from") if from_ else _parse_day(str(to), "to")
        last = _parse_day(to, "to") if to else first
    if last < first:
        raise InvalidInput("the end date is before the start date")
    if (last - first).days > 366 * 2:
        raise InvalidInput("ask for at most two years at a time")
    start, _ = local_day_bounds(first, tz)
    _, end = local_day_bounds(last, tz)
    clinician_id = (await find_staff(ctx, clinician)).id if clinician else None
    # A clinician sees their own schedule (the shared waiting queue shows who waits).
    clinician_id = scope.check_schedule(actor, clinician_id)
    return await ctx.store.appointments_between(start, end, clinician_id)


async def update_appointment(
    ctx: Context, actor: Actor, appt_id: str, given: AppointmentChanges, *, notify: bool = True
) -> Appointment:
    """Reschedule or change an appointment (time, length, modality, people, notes); who
    was invited is told as ``tlh.services.followups`` says (``notify=False``: a
    correction, nobody is told)."""
    auth.require_role(actor, *WRITERS)
    appt = await get_appointment(ctx, actor, appt_id)
    changes: dict[str, Any] = {}
    for key, value in changed_fields(given).items():
        if key == "start":
            changes["start"] = _start(ctx, value)
        elif key == "duration_min":
            changes["duration_min"] = _duration(value)
        elif key == "clinicians":
            changes["clinician_ids"] = await _clinicians(ctx, value or [], appt.kind)
        elif key == "client_ids":
            changes["client_ids"] = await _clients(ctx, value or [], appt.kind)
        elif key == "notes":
            changes["notes"] = (value or "")[:2000]
        elif key == "copay_amount":
            changes["copay_amount"] = copay_amount(value)
            changes["copay_collected"] = changes["copay_amount"] is not None
        else:  # modality, copay_collected: typed by the struct
            changes[key] = value
    now, before = ctx.clock(), appt

    def change(found: Appointment | None) -> Appointment:
        # On the record as stored now: a status change landing meanwhile is kept.
        nonlocal before
        if found is None:
            raise NotFound(f"no appointment {appt_id}")
        before = found
        updated = msgspec.structs.replace(found, **changes, updated_at=now)
        if updated.modality is Modality.TELEHEALTH and updated.kind is not Kind.APPOINTMENT:
            raise InvalidInput("only appointments can be telehealth")
        return updated

    updated = await _update_holding_schedules(
        ctx, appt_id, change, changes, note(actor, "appointment.update", appt_id)
    )
    ctx.events.publish(
        "appointment.updated", event_of(updated), audiences.appointments(updated, before)
    )
    await followups.after_change(ctx, actor, before, updated, notify=notify)
    return updated


async def _update_holding_schedules(
    ctx: Context,
    appt_id: str,
    change: Callable[[Appointment | None], Appointment],
    changes: dict[str, Any],
    audit: AuditNote,
) -> Appointment:
    """Read-modify-write of an appointment holding its record key (what ``store.update``
    holds); a move (time, length, clinicians) also holds the schedules its conflict check
    reads (the clinicians it has as stored and gets) and checks inside."""
    moving = {"start", "duration_min", "clinician_ids"} & changes.keys()
    while True:
        stored = await ctx.store.get(Appointment, appt_id)
        had = set(stored.clinician_ids) if stored is not None else set()
        held = had | set(changes.get("clinician_ids", ())) if moving else set()
        keys = (record_key(Appointment, appt_id), *schedule_locks.schedule(sorted(held)))
        async with ctx.store.locked(*keys):
            now = await ctx.store.get(Appointment, appt_id)
            if moving and now is not None and not set(now.clinician_ids) <= held:
                continue  # moved to another clinician meanwhile: hold theirs too
            updated = change(now)
            if moving:
                await check_conflicts(ctx, [updated])
            await ctx.store.commit([Put(updated)], audit=[audit])
        return updated


async def set_status(ctx: Context, actor: Actor, appt_id: str, new: Status) -> Appointment:
    """Move an appointment to ``new``; clinicians may only touch their own."""
    auth.require_role(actor, *READERS)
    appt = await own_appointment(ctx, actor, appt_id)
    now, before = ctx.clock(), appt

    def move(found: Appointment | None) -> Appointment:
        # The transition is checked against the status as stored now: of two changes at
        # once, the second is judged from where the first left it.
        nonlocal before
        if found is None:
            raise NotFound(f"no appointment {appt_id}")
        transitions.check_transition(found.status, new)
        before = found
        return msgspec.structs.replace(found, status=new, updated_at=now)

    action = f"appointment.status.{new.value}"
    updated = await ctx.store.update(
        Appointment, appt_id, move, audit=[note(actor, action, appt_id)]
    )
    assert updated is not None
    ctx.events.publish("appointment.status", event_of(updated), audiences.appointments(updated))
    await followups.after_change(ctx, actor, before, updated)
    return updated


async def cancel_appointment(ctx: Context, actor: Actor, appt_id: str) -> Appointment:
    """Cancel; within the policy's late-cancel hours of the start it is a late cancellation."""
    auth.require_role(actor, *WRITERS)
    appt = await get_appointment(ctx, actor, appt_id)
    late = appt.start - ctx.clock() < timedelta(hours=ctx.policy().late_cancel_hours)
    return await set_status(
        ctx, actor, appt_id, Status.LATE_CANCELLED if late else Status.CANCELLED
    )


async def explain(
    ctx: Context,
    actor: Actor,
    appt_id: str,
    *,
    at: str | None = None,
    clinician: str | None = None,
) -> Eligibility:
    """Every reason the appointment's telehealth session can or cannot start at ``at``."""
    auth.require_role(actor, *READERS)
    appt = await get_appointment(ctx, actor, appt_id)
    when = _start(ctx, at, "at") if at else ctx.clock()
    if clinician:
        staff = await find_staff(ctx, clinician)
    elif actor.role is Role.CLINICIAN or (actor.is_clinician and actor.id in appt.clinician_ids):
        staff = await find_staff(ctx, actor.id)
    elif appt.clinician_ids:
        staff = await find_staff(ctx, appt.clinician_ids[0])
    else:
        raise InvalidInput("the appointment has no clinician")
    people = {s.id: s for s in await ctx.store.all(Staff)}
    verdict = explain_start(
        appt, staff, ctx.policy(), when, await consent_check(ctx, appt), clinicians=people
    )
    warned = tuple(
        w for _, w in await availability.check_availability(ctx.store, ctx.policy(), [appt])
    )
    return msgspec.structs.replace(verdict, warnings=warned)
