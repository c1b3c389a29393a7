"""Reschedule requests: a client asks to move an appointment to an open slot; staff
accept (the appointment moves, the slot checked again inside the schedule lock, and the
usual reschedule message goes out) or decline. Every step is audited."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from tlh.api.appointments import AppointmentChanges
from tlh.domain.audience import concerning
from tlh.domain.models import Appointment, Kind, Role, SelfScheduling, Status
from tlh.domain.reschedule import RequestState, RescheduleRequest
from tlh.errors import Conflict, InvalidInput, NotFound
from tlh.services import auth, scope
from tlh.services.appointments import update_appointment
from tlh.services.context import Actor, Context, new_id
from tlh.services.self_booking import (
    GONE,
    SelfSchedulingOff,
    SlotGone,
    check_time,
    find_slot,
    may_act_for,
)
from tlh.store.base import Put, note, record_key

EDITORS = (Role.ADMIN, Role.SCHEDULER)
READERS = (Role.ADMIN, Role.SCHEDULER, Role.CLINICIAN)
_MOVABLE = frozenset({Status.SCHEDULED, Status.CONFIRMED})


class NotPending(Conflict):
    code = "not_pending"


def _event(req: RescheduleRequest) -> dict[str, Any]:
    return {
        "id": req.id,
        "appointment_id": req.appointment_id,
        "client_id": req.client_id,
        "start": req.start.isoformat(),
        "state": req.state.value,
    }


async def _appointment(ctx: Context, appt_id: str) -> Appointment:
    found = await ctx.store.get(Appointment, appt_id)
    if found is None or found.kind is not Kind.APPOINTMENT:
        raise NotFound("no such appointment")
    return found


async def _check_slot(ctx: Context, appt: Appointment, start: datetime) -> None:
    """``start`` is an open slot of every clinician of ``appt`` in its modality (its own
    time does not count against it)."""
    check_time(ctx, start)
    for clinician_id in appt.clinician_ids:
        try:
            await find_slot(ctx, clinician_id, start, appt.modality)
        except SlotGone:
            # Taken by this very appointment (a small move): open once it moves.
            if not (appt.start < start + (appt.end - appt.start) and start < appt.end):
                raise


async def request_reschedule(
    ctx: Context, actor: Actor, appt_id: str, start: datetime
) -> RescheduleRequest:
    """Ask to move the appointment to the open slot at ``start`` (aware): stored pending
    for staff, who hear of it (event ``reschedule.requested``)."""
    if ctx.policy().self_scheduling is not SelfScheduling.CLIENTS:
        raise SelfSchedulingOff("this practice does not take requests from clients")
    appt = await _appointment(ctx, appt_id)
    client_id = next(iter([c for c in appt.client_ids if await _may(ctx, actor, c)]), None)
    if client_id is None:
        raise NotFound("no such appointment")
    if appt.status not in _MOVABLE or appt.start <= ctx.clock():
        raise InvalidInput("only an upcoming scheduled or confirmed visit can be moved")
    if start.tzinfo is None:
        raise InvalidInput("the start needs a time zone offset")
    await _check_slot(ctx, appt, start)
    req = RescheduleRequest(
        id=new_id("rsq"),
        appointment_id=appt.id,
        client_id=client_id,
        requested_by=actor.id,
        start=start,
        created_at=ctx.clock(),
    )
    async with ctx.store.locked(f"reschedule:{appt.id}"):
        if any(
            r.state is RequestState.PENDING
            for r in await ctx.store.find(RescheduleRequest, "appointment_id", appt.id)
        ):
            raise NotPending("a request to move this visit is already waiting for staff")
        await ctx.store.commit([Put(req)], audit=[note(actor, "reschedule.request", req.id)])
    ctx.events.publish("reschedule.requested", _event(req), concerning(*appt.clinician_ids))
    return req


async def _may(ctx: Context, actor: Actor, client_id: str) -> bool:
    try:
        await may_act_for(ctx, actor, client_id)
    except NotFound:
        return False
    return True


async def list_requests(
    ctx: Context, actor: Actor, state: str | None = RequestState.PENDING.value
) -> list[RescheduleRequest]:
    """Requests in ``state`` (``None``: all), oldest first; a clinician: their own visits'."""
    auth.require_role(actor, *READERS)
    if state is None:
        found = await ctx.store.all(RescheduleRequest)
    else:
        try:
            wanted = RequestState(state)
        except ValueError:
            raise InvalidInput("state must be pending, accepted or declined") from None
        found = await ctx.store.find(RescheduleRequest, "state", wanted)
    out = found
    if scope.limited(actor):
        out = [
            r
            for r in found
            if (a := await ctx.store.get(Appointment, r.appointment_id)) is not None
            and actor.id in a.clinician_ids
        ]
    return sorted(out, key=lambda r: (r.created_at, r.id))


async def _pending(ctx: Context, req_id: str) -> RescheduleRequest:
    found = await ctx.store.get(RescheduleRequest, req_id)
    if found is None:
        raise NotFound("no such reschedule request")
    if found.state is not RequestState.PENDING:
        raise NotPending(f"request {req_id} was already {found.state.value}")
    return found


async def accept(ctx: Context, actor: Actor, req_id: str) -> RescheduleRequest:
    """Move the appointment to the requested time (refused as ``slot_gone`` when the slot
    was taken meanwhile; the request then stays pending for staff to decline), and send
    the usual reschedule message."""
    auth.require_role(actor, *EDITORS)
    async with ctx.store.locked(record_key(RescheduleRequest, req_id)):
        req = await _pending(ctx, req_id)
        appt = await _appointment(ctx, req.appointment_id)
        await _check_slot(ctx, appt, req.start)
        try:
            # Conflicts are checked again inside the clinicians' schedule lock.
            await update_appointment(
                ctx, actor, appt.id, AppointmentChanges(start=req.start.isoformat())
            )
        except Conflict as exc:
            raise SlotGone(GONE) from exc
        decided = msgspec.structs.replace(
            req, state=RequestState.ACCEPTED, decided_at=ctx.clock(), decided_by=actor.id
        )
        await ctx.store.commit(
            [Put(decided)],
            audit=[note(actor, "reschedule.accept", req.id)],
        )
    ctx.events.publish("reschedule.decided", _event(decided), concerning(*appt.clinician_ids))
    return decided


async def decline(ctx: Context, actor: Actor, req_id: str) -> RescheduleRequest:
    """Decline a pending request (the appointment stays where it is)."""
    auth.require_role(actor, *EDITORS)
    async with ctx.store.locked(record_key(RescheduleRequest, req_id)):
        req = await _pending(ctx, req_id)
        decided = msgspec.structs.replace(
            req, state=RequestState.DECLINED, decided_at=ctx.clock(), decided_by=actor.id
        )
        await ctx.store.commit(
            [Put(decided)],
            audit=[note(actor, "reschedule.decline", req.id)],
        )
    appt = await ctx.store.get(Appointment, req.appointment_id)
    who = appt.clinician_ids if appt is not None else ()
    ctx.events.publish("reschedule.decided", _event(decided), concerning(*who))
    return decided
