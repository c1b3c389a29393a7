"""A transfer hands a visit to another clinician (the waiting room moves the person; this
is what the records need for it to lead somewhere).

The receiving clinician is added to the visit's appointment (audited
``appointment.transfer``): listed on it, they may let the client in, start its session
and read the client, as for any visit of theirs. The sending clinician's open session of
it, left with no one to see, is closed: the receiving clinician's admission opens their
own. In a group visit whose others stay, the session carries on, and the person
transferred rejoins it when let in (the receiving clinician, now listed, may join it).
"""

from __future__ import annotations

import msgspec

from tlh.domain.models import Appointment, Staff
from tlh.errors import InvalidInput, NotFound
from tlh.services import audiences
from tlh.services.appointments import event_of
from tlh.services.context import Actor, Context
from tlh.store.base import note


def check_receiver(staff: Staff, appointment_id: str | None) -> None:
    """A transfer goes to an active clinician; a visit by video, to one who can hold it."""
    if not staff.is_clinician or not staff.active:
        raise InvalidInput(f"staff member {staff.id} is not an active clinician")
    if appointment_id is not None and not staff.telehealth:
        raise InvalidInput(
            f"telehealth is not enabled for clinician {staff.id}: they could not let the client in"
        )


async def grant(ctx: Context, actor: Actor, appointment_id: str, clinician_id: str) -> None:
    """List ``clinician_id`` on the appointment (nothing when they already are)."""
    found = await ctx.store.get(Appointment, appointment_id)
    if found is None or clinician_id in found.clinician_ids:
        return
    before = found
    now = ctx.clock()

    def add(current: Appointment | None) -> Appointment:
        nonlocal before
        if current is None:
            raise NotFound(f"no appointment {appointment_id}")
        before = current
        if clinician_id in current.clinician_ids:
            return current
        ids = (*current.clinician_ids, clinician_id)
        return msgspec.structs.replace(current, clinician_ids=ids, updated_at=now)

    # No conflict check: a transfer hands over a visit under way, it books no time.
    updated = await ctx.store.update(
        Appointment,
        appointment_id,
        add,
        audit=[note(actor, "appointment.transfer", appointment_id, clinician_id)],
    )
    assert updated is not None
    ctx.events.publish(
        "appointment.updated", event_of(updated), audiences.appointments(updated, before)
    )
