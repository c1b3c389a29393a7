"""Confirm and cancel from the client portal (issue 13 item 4).

The portal's buttons call the same ``confirm`` and ``client_cancel`` as the reminder's
one-tap links (``tlh.services.client_actions``): the same rules, late cancellation, audit
and staff events. What is added here is the portal's scoping: the appointment must be of
a client the signed-in person acts for (else 404, as for none), and they act as that
client, or as that client's contact (a caregiver), as the link holder would.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from tlh.domain.action_links import LinkAction, appointment_refusal
from tlh.domain.models import Appointment
from tlh.errors import NotFound
from tlh.services import client_actions
from tlh.services.context import Actor, Context
from tlh.services.portal_people import Principal

NO_APPOINTMENT = "no such appointment"


def offers(ctx: Context, appt: Appointment, now: datetime) -> dict[str, Any]:
    """What the portal offers on ``appt`` now: ``can_confirm``, ``can_cancel`` and
    ``late_cancel_from`` (the fields of ``PortalAppointment``), by the rules the services
    apply when the button is pressed."""
    can_cancel = appointment_refusal(appt, LinkAction.CANCEL, now) is None
    late_from = appt.start - timedelta(hours=ctx.policy().late_cancel_hours)
    return {
        "can_confirm": appointment_refusal(appt, LinkAction.CONFIRM, now) is None,
        "can_cancel": can_cancel,
        "late_cancel_from": late_from if can_cancel else None,
    }


async def acting_as(ctx: Context, principal: Principal, appt_id: str) -> tuple[Appointment, Actor]:
    """The appointment and whom they act as for it; 404 unless one of its clients is
    theirs (the same answer as for an appointment that does not exist)."""
    appt = await ctx.store.get(Appointment, appt_id)
    if appt is None:
        raise NotFound(NO_APPOINTMENT)
    client_id = next((c for c in appt.client_ids if principal.acts_for(c)), None)
    if client_id is None:
        raise NotFound(NO_APPOINTMENT)
    # A person may be a client and a caregiver of another: per appointment, the role
    # they hold for its client (what the audit note and the staff event name).
    contact_id = principal.contact_id_for(client_id)
    return appt, client_actions.person_actor(client_id, contact_id, principal.source)


async def confirm(ctx: Context, principal: Principal, appt_id: str) -> Appointment:
    """Confirm ``appt_id`` for a client ``principal`` acts for (409 when it cannot be
    confirmed now, with ``details.reason``)."""
    _, actor = await acting_as(ctx, principal, appt_id)
    return await client_actions.confirm(ctx, actor, appt_id)


async def cancel(ctx: Context, principal: Principal, appt_id: str) -> Appointment:
    """Cancel ``appt_id`` for a client ``principal`` acts for: late-cancelled inside
    ``late_cancel_hours`` of the start (409 when it cannot be cancelled now)."""
    _, actor = await acting_as(ctx, principal, appt_id)
    return await client_actions.client_cancel(ctx, actor, appt_id)
