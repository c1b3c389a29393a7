"""What follows a change of an appointment for the people invited to it: one rule for
``tlh appt update``, a status change and a re-import.

- **cancelled**: its join links are revoked; their holders are told (``cancellation``,
  with a METHOD:CANCEL calendar file).
- **turned in person**: its links are revoked (the call can never start); their holders
  are told (``in_person``): the visit takes place at the practice.
- **turned telehealth**: the client and every contact with email reminders are invited
  (``invitation``), when the visit can take place by video.
- **moved** (a new start): the old links are revoked and everyone who had one gets a new
  one (``reschedule``). A new length alone changes no one's plans: the links follow it.

``notify=False`` (``--no-notify``: correcting a record the client already knows right)
tells nobody: the links of a moved visit follow its new time instead of being replaced,
and those of a cancelled visit or one turned in person are revoked without a word.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import msgspec

from tlh.domain.audience import EDITORS
from tlh.domain.links import Channel, JoinLink, join_link_validity
from tlh.domain.messages import Message, MessageChannel, MessageKind
from tlh.domain.models import Appointment, Blocker, Modality, Status
from tlh.errors import TlhError
from tlh.services import notices
from tlh.services.context import Actor, Context
from tlh.services.invites import standing_blockers
from tlh.services.links import LINK_REVOKED, live_links
from tlh.services.notices import ClientOf, Planned
from tlh.services.outbox import announce_queued
from tlh.services.recipients import Recipient, explicit
from tlh.store.base import AuditNote, Op, Put, note, record_key

#: The statuses a visit is called off with (a missed one is over, not called off).
CANCELLED = frozenset({Status.CANCELLED, Status.LATE_CANCELLED})


@dataclass
class Followup:
    """What changes of appointments send, revoke and move, planned before any of it."""

    planned: list[Planned] = field(default_factory=list)
    revoke: list[JoinLink] = field(default_factory=list)
    #: Live links given the validity of their appointment's new time.
    retime: list[JoinLink] = field(default_factory=list)
    #: Why someone was not invited (an appointment id with each).
    warnings: list[tuple[str, Blocker]] = field(default_factory=list)

    def add(self, other: Followup) -> None:
        """Fold ``other`` into this one (an import's many changes: one commit for all)."""
        self.planned += other.planned
        self.revoke += other.revoke
        self.retime += other.retime
        self.warnings += other.warnings


async def holders(
    ctx: Context, links: Sequence[JoinLink], client_of: ClientOf | None = None
) -> list[tuple[Recipient, MessageChannel]]:
    """Who had links sent by email or SMS, once per person and channel."""
    find = client_of or notices.stored_clients(ctx)
    seen: set[tuple[str, MessageChannel]] = set()
    out: list[tuple[Recipient, MessageChannel]] = []
    for link in links:
        if link.client_id is None or link.channel not in (Channel.EMAIL, Channel.SMS):
            continue
        channel = MessageChannel(link.channel.value)
        who = (link.contact_id or link.client_id, channel)
        client = await find(link.client_id)
        if who in seen or client is None:
            continue
        seen.add(who)
        try:
            out.append((explicit(client, channel, link.contact_id), channel))
        except TlhError:
            continue  # the address or contact went away since: nobody to tell
    return out


async def plan_followup(
    ctx: Context,
    before: Appointment,
    after: Appointment,
    *,
    notify: bool = True,
    client_of: ClientOf | None = None,
) -> Followup:
    """What the change from ``before`` to ``after`` sends, revokes and moves (see the
    module's rules); reads the store, writes nothing."""
    find = client_of or notices.stored_clients(ctx)
    live = await live_links(ctx, after.id)
    # Every link the appointment ever had: calendars replace their copy on a higher one.
    sequence = len(await ctx.store.find(JoinLink, "appointment_id", after.id))
    if after.status in CANCELLED:
        if before.status in CANCELLED or not live:
            return Followup()
        told = notices.notices_to(
            await holders(ctx, live, find),
            after,
            MessageKind.CANCELLATION,
            link=False,
            ics="CANCEL",
            sequence=sequence,
        )
        return Followup(planned=told if notify else [], revoke=live)
    if after.modality is not Modality.TELEHEALTH:
        if not live:
            return Followup()
        told = notices.notices_to(
            await holders(ctx, live, find),
            after,
            MessageKind.IN_PERSON,
            link=False,
            ics="REQUEST",
            sequence=sequence,
            video=False,
        )
        was_video = before.modality is Modality.TELEHEALTH
        return Followup(planned=told if notify and was_video else [], revoke=live)
    if before.modality is not Modality.TELEHEALTH:
        if not notify:
            return Followup()
        planned, reasons = await notices.plan_invitations(ctx, after, find)
        return Followup(planned=planned, warnings=[(after.id, r) for r in reasons])
    if before.start == after.start and before.duration_min == after.duration_min:
        return Followup()
    if not live:
        return Followup()
    if before.start == after.start or not notify:
        return Followup(retime=_retimed(ctx, live, after))
    # A visit that cannot take place by video as booked gets its new time without a link.
    video = not await standing_blockers(ctx, after)
    told = notices.notices_to(
        await holders(ctx, live, find),
        after,
        MessageKind.RESCHEDULE,
        link=video,
        ics="REQUEST",
        sequence=sequence,
        video=video,
    )
    return Followup(planned=told, revoke=live)


def _retimed(ctx: Context, links: Sequence[JoinLink], appt: Appointment) -> list[JoinLink]:
    valid_from, valid_until = join_link_validity(appt.start, appt.end, ctx.policy())
    return [
        msgspec.structs.replace(link, valid_from=valid_from, valid_until=valid_until)
        for link in links
        if (link.valid_from, link.valid_until) != (valid_from, valid_until)
    ]


@dataclass
class Done:
    """What a commit with a follow-up revoked and queued (to announce once it is in)."""

    revoked: list[str] = field(default_factory=list)
    queued: list[Message] = field(default_factory=list)


async def commit_with(
    ctx: Context,
    actor: Actor,
    ops: Sequence[Op],
    notes: Sequence[AuditNote],
    followup: Followup,
    skipped: Sequence[Message] = (),
) -> Done:
    """Commit ``ops`` together with what ``followup`` revokes, moves and sends (and the
    ``skipped`` outbox records), in one write: nothing is sent for a change that was not
    stored, and no reminder tick falls between a change and its notice. Each link is
    changed as stored now (held, as ``update`` holds one): one revoked meanwhile keeps
    its first revocation."""
    touched = sorted({link.id for link in [*followup.revoke, *followup.retime]})
    async with ctx.store.locked(*(record_key(JoinLink, i) for i in touched)):
        now = ctx.clock()
        stored = {
            i: link for i in touched if (link := await ctx.store.get(JoinLink, i)) is not None
        }
        revoked = [
            msgspec.structs.replace(stored[k.id], revoked_at=now)
            for k in followup.revoke
            if k.id in stored and stored[k.id].revoked_at is None
        ]
        retimed = [
            msgspec.structs.replace(
                stored[k.id], valid_from=k.valid_from, valid_until=k.valid_until
            )
            for k in followup.retime
            if k.id in stored and stored[k.id].revoked_at is None
        ]
        batch = await notices.prepare_many(ctx, actor, followup.planned)
        sent_ops, sent_notes = await batch.ops(ctx, actor)
        all_ops: list[Op] = [*ops, *(Put(k) for k in [*revoked, *retimed]), *sent_ops]
        all_ops += [Put(m) for m in skipped]
        all_notes = list(notes)
        for action, records in (("link.revoke", revoked), ("link.update", retimed)):
            if records:
                all_notes.append(note(actor, action, *(r.id for r in records)))
        all_notes += sent_notes
        if skipped:
            all_notes.append(note(actor, "message.skip", *(m.id for m in skipped)))
        if all_ops:
            await ctx.store.commit(all_ops, audit=all_notes)
    return Done(revoked=[k.id for k in revoked], queued=batch.messages)


def announce(ctx: Context, done: Done) -> None:
    """After the commit: the waiting rooms end the visits of revoked links, the outbox
    worker wakes for the queued messages."""
    if done.revoked:
        ctx.events.publish(LINK_REVOKED, {"ids": done.revoked}, EDITORS)
    if done.queued:
        announce_queued(ctx, done.queued)


async def carry_out(ctx: Context, actor: Actor, followup: Followup) -> list[Message]:
    """Revoke, move and send what ``followup`` planned; returns the messages queued."""
    done = await commit_with(ctx, actor, [], [], followup)
    announce(ctx, done)
    return done.queued


async def after_change(
    ctx: Context, actor: Actor, before: Appointment, after: Appointment, *, notify: bool = True
) -> list[Message]:
    """Carry out what the change from ``before`` to ``after`` means for those invited."""
    return await carry_out(ctx, actor, await plan_followup(ctx, before, after, notify=notify))
