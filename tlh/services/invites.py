"""Invitations: join links made, rendered into messages and queued in the outbox.

Also the reminder clock's render callback (the notices that follow a change are
``tlh.services.followups``'). Idempotency keys: ``invite:<link id>:<channel>`` for
messages with a link, ``<reminder key>/<channel>/<recipient>`` for reminders.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import msgspec

from tlh.api.invites import DayInvite, DayInvites, Invite, Sent, Skipped
from tlh.domain.action_links import ActionLink
from tlh.domain.eligibility import video_blockers
from tlh.domain.links import (
    DEAD_STATUSES,
    Channel,
    JoinLink,
    join_link_validity,
)
from tlh.domain.messages import Message, MessageChannel, MessageKind
from tlh.domain.models import Appointment, Blocker, Kind, Modality, Role, Staff
from tlh.domain.reminders import ReminderDue
from tlh.domain.timeutil import check_year, local_day_bounds, zone
from tlh.errors import Conflict, InvalidInput, NotFound, TlhError
from tlh.messaging.ics import IcsMethod, appointment_ics
from tlh.messaging.templates import appointment_values
from tlh.services import auth, scope
from tlh.services.action_links import Actions, action_links_for, store_action_links
from tlh.services.context import SYSTEM, Actor, Context, new_id
from tlh.services.links import (
    client_language,
    get_link,
    join_link,
    link_url,
    outreach_of,
    public,
    revoke,
    store_links,
)
from tlh.services.outbox import enqueue
from tlh.services.recipients import (
    Recipient,
    add_address,
    by_settings,
    contacts_by_settings,
    explicit,
    load_client,
)
from tlh.services.reminder_clock import RenderReminder, reminder_message_key
from tlh.store.base import AuditNote, Op, Put, note

SENDERS = (Role.ADMIN, Role.SCHEDULER, Role.CLINICIAN)
EDITORS = (Role.ADMIN, Role.SCHEDULER)


@dataclass
class Batch:
    """Links and messages prepared for one or many appointments, stored together."""

    links: list[JoinLink] = field(default_factory=list)
    messages: list[Message] = field(default_factory=list)

    async def commit(self, ctx: Context, actor: Actor) -> Sent:
        """Store the links, queue the messages; return them (links without hashes)."""
        await store_links(ctx, actor, self.links)
        queued = await enqueue(ctx, actor, self.messages) if self.messages else []
        return Sent(links=[public(link) for link in self.links], messages=queued)

    async def ops(self, ctx: Context, actor: Actor) -> tuple[list[Op], list[AuditNote]]:
        """The writes (and their audit) that store the links and queue the messages,
        for a commit that also writes what they are about (an appointment just booked:
        no reminder can fall between the two). A message whose idempotency key is
        already in the outbox is left out, as ``enqueue`` would."""
        self.messages = [
            m
            for m in self.messages
            if not await ctx.store.find(Message, "idempotency_key", m.idempotency_key)
        ]
        ops: list[Op] = [Put(link) for link in self.links]
        ops += [Put(m) for m in self.messages]
        notes = []
        if self.links:
            notes.append(note(actor, "link.create", *(link.id for link in self.links)))
        if self.messages:
            notes.append(note(actor, "message.queue", *(m.id for m in self.messages)))
        return ops, notes


async def load_appointment(ctx: Context, appt_id: str, actor: Actor | None = None) -> Appointment:
    """The appointment (``NotFound`` otherwise, and for a clinician ``actor`` not listed
    on it)."""
    appt = await ctx.store.get(Appointment, appt_id)
    if appt is None:
        raise NotFound(scope.NO_APPOINTMENT)
    if actor is not None:
        scope.check_appointment(actor, appt)
    return appt


async def check_invitable(ctx: Context, appt: Appointment) -> None:
    """A clear ``Conflict`` when ``appt`` cannot have join links (and why)."""
    if appt.status in DEAD_STATUSES:
        raise Conflict(f"appointment {appt.id} is {appt.status.value}; no invitation was sent")
    if appt.kind is not Kind.APPOINTMENT or appt.modality is not Modality.TELEHEALTH:
        raise Conflict(f"appointment {appt.id} is not a telehealth appointment")
    blockers = await standing_blockers(ctx, appt)
    if blockers:
        reasons = "; ".join(b.message for b in blockers)
        raise Conflict(
            f"appointment {appt.id} cannot take place by video ({reasons}); no invitation was sent",
            details=[msgspec.to_builtins(b) for b in blockers],
        )
    if ctx.clock() >= join_link_validity(appt.start, appt.end, ctx.policy())[1]:
        raise Conflict(f"appointment {appt.id} has ended; no invitation was sent")


async def standing_blockers(ctx: Context, appt: Appointment) -> tuple[Blocker, ...]:
    """Why ``appt`` cannot take place by video under the rules at all (see
    ``tlh.domain.eligibility.video_blockers``)."""
    people = {
        s.id: s for cid in appt.clinician_ids if (s := await ctx.store.get(Staff, cid)) is not None
    }
    return video_blockers(appt, people, ctx.policy())


async def clinician_name(ctx: Context, appt: Appointment) -> str:
    """The first listed clinician's display name (staff names are not patient data)."""
    staff = await ctx.store.get(Staff, appt.clinician_ids[0]) if appt.clinician_ids else None
    return staff.name if staff is not None else ""


async def build_message(
    ctx: Context,
    appt: Appointment,
    kind: MessageKind,
    channel: MessageChannel,
    recipient: Recipient,
    *,
    key: str,
    url: str,
    link_id: str | None,
    ics: IcsMethod | None,
    sequence: int = 0,
    video: bool = True,
    actions: Actions | None = None,
) -> Message:
    """One rendered message to ``recipient`` about ``appt`` (with an .ics for emails);
    ``video`` False when the visit cannot take place by video as booked; ``actions``:
    the one-tap confirm/cancel links it carries."""
    outreach, _ = outreach_of(ctx)
    policy = ctx.policy()
    who = await clinician_name(ctx, appt)
    language = await client_language(ctx, recipient.client_id)
    values = appointment_values(
        appt,
        policy,
        link=url,
        clinician_name=who,
        recipient_name=recipient.name,
        video=video,
        language=language,
    )
    if actions is not None:
        values.update(actions.values)
    rendered = outreach.templates.render(kind, channel, values, language)
    calendar = None
    if channel is MessageChannel.EMAIL and ics is not None:
        calendar = appointment_ics(
            appt,
            policy,
            link=url,
            practice_name=policy.practice_name,
            clinician_name=who,
            method=ics,
            sequence=sequence,
            video=video,
        )
    now = ctx.clock()
    return Message(
        id=new_id("msg"),
        idempotency_key=key,
        kind=kind,
        channel=channel,
        to=recipient.address,
        subject=rendered.subject,
        text=rendered.text,
        html=rendered.html,
        ics=calendar,
        next_attempt_at=now,
        created_at=now,
        appointment_id=appt.id,
        client_id=recipient.client_id,
        link_id=link_id,
        action_link_ids=tuple(link.id for link in actions.links) if actions else (),
    )


async def add_invitation(
    ctx: Context,
    actor: Actor,
    batch: Batch,
    appt: Appointment,
    recipient: Recipient,
    channel: MessageChannel,
    kind: MessageKind = MessageKind.INVITATION,
    sequence: int = 0,
    actions: Actions | None = None,
) -> None:
    """A new join link for ``recipient`` and the message that carries it (and
    ``actions``' links), into ``batch``."""
    made = join_link(
        ctx,
        actor,
        appt,
        Channel(channel.value),
        participant=recipient.participant,
        client_id=recipient.client_id,
        contact_id=recipient.contact_id,
        by_message=True,
    )
    _, base = outreach_of(ctx)
    batch.links.append(made.link)
    batch.messages.append(
        await build_message(
            ctx,
            appt,
            kind,
            channel,
            recipient,
            key=f"invite:{made.link.id}:{channel.value}",
            url=link_url(base, made.token),
            link_id=made.link.id,
            ics="REQUEST",
            sequence=sequence,
            actions=actions,
        )
    )


async def recipients_for(
    ctx: Context, appt: Appointment, channel: MessageChannel, contact_id: str | None = None
) -> list[Recipient]:
    """Who an appointment's invitation goes to: one contact if named, else every client
    (a missing address is an error) and the contacts whose settings ask for it."""
    if contact_id:
        for client_id in appt.client_ids:
            client = await load_client(ctx, client_id)
            if any(c.id == contact_id for c in client.contacts):
                return [explicit(client, channel, contact_id)]
        raise NotFound("no such contact on this appointment's clients")
    out: list[Recipient] = []
    for client_id in appt.client_ids:
        client = await load_client(ctx, client_id)
        out.append(explicit(client, channel))
        out += contacts_by_settings(client, channel)
    return out


async def invite(ctx: Context, actor: Actor, request: Invite) -> Sent:
    """Send an appointment's join links by email or SMS (``to`` adds a missing address)."""
    auth.require_role(actor, *SENDERS)
    channel = request.channel
    appt = await load_appointment(ctx, request.appointment_id, actor)
    await check_invitable(ctx, appt)
    contact_id = request.contact_id or None
    if request.to:
        owner = await owner_of(ctx, appt, contact_id)
        await add_address(
            ctx, actor, await load_client(ctx, owner), channel, request.to, contact_id
        )
    batch = Batch()
    for recipient in await recipients_for(ctx, appt, channel, contact_id):
        await add_invitation(ctx, actor, batch, appt, recipient, channel)
    return await batch.commit(ctx, actor)


async def owner_of(ctx: Context, appt: Appointment, contact_id: str | None) -> str:
    """The client whose record ``to`` is saved to."""
    if contact_id:
        for client_id in appt.client_ids:
            if any(c.id == contact_id for c in (await load_client(ctx, client_id)).contacts):
                return client_id
        raise NotFound("no such contact on this appointment's clients")
    if len(appt.client_ids) != 1:
        raise InvalidInput("--to needs an appointment with one client (or --contact)")
    return appt.client_ids[0]


async def invite_day(ctx: Context, actor: Actor, request: DayInvite) -> DayInvites:
    """Invite every telehealth appointment of a local day; one commit for them all."""
    auth.require_role(actor, *EDITORS)
    channel = request.channel
    try:
        day = check_year(date.fromisoformat(request.date), "date")
    except ValueError:
        raise InvalidInput("date must be YYYY-MM-DD") from None
    start, end = local_day_bounds(day, zone(ctx.policy().timezone))
    batch = Batch()
    sent = 0
    skipped: list[Skipped] = []
    for appt in await ctx.store.appointments_between(start, end):
        if appt.start < start or appt.modality is not Modality.TELEHEALTH:
            continue
        try:
            await check_invitable(ctx, appt)
            people = await recipients_for(ctx, appt, channel)
        except TlhError as exc:
            skipped.append(Skipped(appointment_id=appt.id, reason=exc.message))
            continue
        for recipient in people:
            await add_invitation(ctx, actor, batch, appt, recipient, channel)
        sent += 1
    done = await batch.commit(ctx, actor)
    return DayInvites(sent=sent, skipped=skipped, messages=len(done.messages))


async def resend(ctx: Context, actor: Actor, link_id: str) -> Sent:
    """Revoke a join link and send its holder a new one (by SMS if it came by SMS, else
    by email)."""
    auth.require_role(actor, *EDITORS)
    old = await get_link(ctx, link_id)
    if old.appointment_id is None or old.client_id is None:
        raise Conflict("only an appointment's join links can be resent")
    appt = await load_appointment(ctx, old.appointment_id)
    await check_invitable(ctx, appt)
    channel = MessageChannel.SMS if old.channel is Channel.SMS else MessageChannel.EMAIL
    recipient = explicit(await load_client(ctx, old.client_id), channel, old.contact_id)
    batch = Batch()
    await add_invitation(ctx, actor, batch, appt, recipient, channel)
    if old.revoked_at is None:
        await revoke(ctx, actor, [old], end_visits=False)
    return await batch.commit(ctx, actor)


def reminder_renderer(ctx: Context) -> RenderReminder:
    """The reminder clock's callback: each due reminder's messages, one per recipient and
    channel (per their settings); emails carry a fresh join link, texts only if the
    policy allows links in automatic texts. The day-before reminder carries one-tap
    confirm and cancel links too (``tlh.services.action_links``) wherever links may go."""

    async def render(appt: Appointment, due: ReminderDue) -> list[Message]:
        policy = ctx.policy()
        # A visit that cannot take place by video (telehealth turned off, ...) is still
        # reminded of, without a link that would lead to a call that cannot start.
        video = not await standing_blockers(ctx, appt)
        batch = Batch()
        made: list[ActionLink] = []
        for client_id in appt.client_ids:
            client = await load_client(ctx, client_id)
            for channel in due.channels:
                for recipient in by_settings(client, channel):
                    key = reminder_message_key(due, channel, recipient.key)
                    texting = (
                        channel is MessageChannel.SMS and not policy.sms_reminders_include_link
                    )
                    actions = None
                    if due.kind is MessageKind.REMINDER_24H and not texting:
                        actions = action_links_for(ctx, appt, recipient)
                        made += actions.links
                    if texting or not video:
                        batch.messages.append(
                            await build_message(
                                ctx, appt, due.kind, channel, recipient,
                                key=key, url="", link_id=None, ics=None, video=video,
                                actions=actions,
                            )
                        )  # fmt: skip
                        continue
                    await add_invitation(
                        ctx, SYSTEM, batch, appt, recipient, channel, due.kind, actions=actions
                    )
                    message = batch.messages[-1]
                    batch.messages[-1] = _rekey(message, key)
        await store_links(ctx, SYSTEM, batch.links)
        await store_action_links(ctx, SYSTEM, made)
        return batch.messages

    return render


def _rekey(message: Message, key: str) -> Message:
    # Reminders carry no .ics: the invitation already put the appointment in the calendar.
    return msgspec.structs.replace(message, idempotency_key=key, ics=None)
