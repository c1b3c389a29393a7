"""Booking an appointment as a person does: stored, checked against the clinicians'
availability, and the invitation sent when the practice's policy says so."""

from __future__ import annotations

from tlh.api.appointments import Booking, BookingWarning, NewAppointment
from tlh.domain.models import Appointment, Blocker
from tlh.services import notices
from tlh.services.appointments import create
from tlh.services.context import Actor, Context
from tlh.services.invites import Batch
from tlh.services.outbox import announce_queued
from tlh.store.base import AuditNote, Op


async def book(
    ctx: Context,
    actor: Actor,
    new: NewAppointment,
    *,
    notify: bool = True,
    strict_availability: bool = False,
    client_booking: bool = False,
) -> Booking:
    """Schedule an appointment (or a series) as a person books one: said when it lies
    outside its clinicians' availability (refused instead with ``strict_availability``),
    and, when the policy's ``invite_on_create`` holds and ``notify``, the invitation
    sent (a series: its first occurrence's; later ones come with their reminders).
    ``client_booking``: a client books an open slot (``tlh.services.self_booking``
    checked who may; staff roles are not asked for)."""
    sent: list[notices.Planned] = []
    reasons: list[Blocker] = []
    batch = Batch()

    async def invite(made: list[Appointment]) -> tuple[list[Op], list[AuditNote]]:
        # Stored with the appointments: the reminder clock never sees one uninvited.
        nonlocal sent, reasons, batch
        first = made[0]
        if not (notify and ctx.policy().invite_on_create):
            return [], []
        sent, reasons = await notices.plan_invitations(ctx, first, notices.stored_clients(ctx))
        batch = await notices.prepare(ctx, actor, sent)
        return await batch.ops(ctx, actor)

    made, warned = await create(
        ctx, actor, new, strict_availability, invite, client_booking=client_booking
    )
    warned += [(made[0].id, r) for r in reasons]
    if batch.messages:
        announce_queued(ctx, batch.messages)
    return Booking(
        items=made,
        warnings=[
            BookingWarning(code=w.code, message=w.message, appointment_id=i) for i, w in warned
        ],
        messages=[p.outgoing() for p in sent],
    )
