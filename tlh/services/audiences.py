"""The audience of an event about a record: admins and schedulers, and the clinicians
the record concerns, looked up in the store (see ``tlh.domain.audience``).

A clinician hears about their own room, their own appointments, sessions and messages,
and the clients they treat; admins and schedulers about all of these.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from tlh.domain.audience import Audience, concerning
from tlh.domain.links import JoinLink
from tlh.domain.messages import Message
from tlh.domain.models import Appointment, Client
from tlh.domain.sessions import SessionSegment
from tlh.services.context import Context
from tlh.services.scope import clinicians_of
from tlh.store.base import Op, Put


def appointments(*appts: Appointment | None) -> Audience:
    """An appointment's clinicians (all of them, before and after a change)."""
    return concerning(*(c for a in appts if a is not None for c in a.clinician_ids))


async def appointment(ctx: Context, appt_id: str | None) -> Audience:
    found = await ctx.store.get(Appointment, appt_id) if appt_id else None
    return appointments(found)


async def session(ctx: Context, segment: SessionSegment) -> Audience:
    """The session's clinician and its appointment's clinicians."""
    return (await appointment(ctx, segment.appointment_id)).with_staff(segment.clinician_id)


async def link(ctx: Context, found: JoinLink) -> Audience:
    """The room the link enters, its appointment's clinicians, else its client's."""
    audience = (await appointment(ctx, found.appointment_id)).with_staff(found.clinician_id)
    if audience.staff or found.client_id is None:
        return audience
    return await client(ctx, found.client_id)


async def message(ctx: Context, sent: Message) -> Audience:
    """The clinicians of the message's appointment, else of its link's room."""
    if sent.appointment_id is not None:
        return await appointment(ctx, sent.appointment_id)
    found = await ctx.store.get(JoinLink, sent.link_id) if sent.link_id else None
    if found is not None:
        return concerning(found.clinician_id)
    return concerning()


async def client(ctx: Context, client_id: str) -> Audience:
    """The client's clinicians: assigned, or with an appointment of the last 12 months or
    to come, the rule by which a clinician may act on a client
    (``tlh.domain.scope.own_client``)."""
    found = await ctx.store.get(Client, client_id)
    if found is None:
        return concerning()
    return concerning(*sorted(await clinicians_of(ctx, found)))


async def imported(ctx: Context, ops: Sequence[Op]) -> Audience:
    """The clinicians of the appointments an import writes, as stored before and as
    written (call it before the commit)."""
    written = [op.record for op in ops if isinstance(op, Put)]
    return appointments(
        *await _with_before(ctx, (a for a in written if isinstance(a, Appointment)))
    )


async def _with_before(ctx: Context, appts: Iterable[Appointment]) -> list[Appointment | None]:
    written = list(appts)
    stored = await ctx.store.get_many(Appointment, [a.id for a in written])
    found: list[Appointment | None] = []
    for appt in written:
        found += [appt, stored.get(appt.id)]
    return found
