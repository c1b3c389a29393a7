"""The messages that follow booking and changing appointments: planned, then sent.

A plan (``Planned``) names each message — its kind, channel, appointment and person —
without making a link or rendering a word, so an import's dry run can list what the
real run will send, and the real run sends exactly that (``send``). Invitations and
reschedule notices carry a new join link; the others (cancelled, now in person) none.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass

from tlh.api.appointments import Outgoing
from tlh.domain.links import DEAD_STATUSES, join_link_validity
from tlh.domain.messages import Message, MessageChannel, MessageKind
from tlh.domain.models import Appointment, Blocker, Client, Modality
from tlh.errors import TlhError
from tlh.messaging.ics import IcsMethod
from tlh.services.context import Actor, Context
from tlh.services.invites import Batch, add_invitation, build_message, check_invitable
from tlh.services.recipients import Recipient, contacts_by_settings, explicit

#: Finds a client by id (the store's, or one an import is about to create).
ClientOf = Callable[[str], Awaitable[Client | None]]


def stored_clients(ctx: Context) -> ClientOf:
    """Finds a stored client by id (``None`` when there is none)."""

    async def find(client_id: str) -> Client | None:
        found = await ctx.store.get(Client, client_id)
        return found

    return find


@dataclass(frozen=True)
class Planned:
    """One message a booking or a change sends."""

    kind: MessageKind
    channel: MessageChannel
    appt: Appointment
    recipient: Recipient
    #: Carries a new join link (an invitation, a reschedule notice).
    link: bool
    ics: IcsMethod | None = None
    sequence: int = 0
    #: The idempotency key of a message without a link (a link's message is keyed by it).
    key: str = ""
    #: Whether the visit can take place by video (the templates' ``video`` value).
    video: bool = True

    def outgoing(self, row: int | None = None) -> Outgoing:
        """The message as an answer lists it (ids only)."""
        return Outgoing(
            kind=self.kind,
            channel=self.channel,
            appointment_id=self.appt.id,
            client_id=self.recipient.client_id,
            contact_id=self.recipient.contact_id,
            row=row,
        )


def invitation_recipients(client: Client) -> list[Recipient]:
    """Who a booked visit's invitation goes to: the client, when they have an email
    address, and every contact of theirs with email reminders."""
    out: list[Recipient] = []
    if client.email:
        out.append(explicit(client, MessageChannel.EMAIL))
    return out + contacts_by_settings(client, MessageChannel.EMAIL)


async def plan_invitations(
    ctx: Context, appt: Appointment, client_of: ClientOf, kind: MessageKind = MessageKind.INVITATION
) -> tuple[list[Planned], list[Blocker]]:
    """The invitations of a telehealth visit just booked (or turned into one), by email
    to ``invitation_recipients`` of each client; and why someone gets none (``not_invited``
    warnings: the visit cannot take place by video, a client without an email address).
    Nothing, and no warning, for a visit in person, called off or already over (an
    import of last year's diary invites nobody)."""
    if appt.modality is not Modality.TELEHEALTH or appt.status in DEAD_STATUSES:
        return [], []
    if ctx.clock() >= join_link_validity(appt.start, appt.end, ctx.policy())[1]:
        return [], []
    try:
        await check_invitable(ctx, appt)
    except TlhError as exc:
        return [], [Blocker(code="not_invited", message=exc.message)]
    planned: list[Planned] = []
    warnings: list[Blocker] = []
    for client_id in appt.client_ids:
        client = await client_of(client_id)
        if client is None:
            continue
        if not client.email:
            warnings.append(
                Blocker(
                    code="not_invited",
                    message=f"client {client.id} has no email address: not invited to "
                    f"{appt.id} (add one and run `tlh invite send`)",
                )
            )
        planned += [
            Planned(kind, MessageChannel.EMAIL, appt, recipient, link=True)
            for recipient in invitation_recipients(client)
        ]
    return planned, warnings


def notices_to(
    holders: Iterable[tuple[Recipient, MessageChannel]],
    appt: Appointment,
    kind: MessageKind,
    *,
    link: bool,
    ics: IcsMethod | None,
    sequence: int,
    video: bool = True,
) -> list[Planned]:
    """One ``kind`` message about ``appt`` to each of ``holders`` (those who had its
    links), by the channel their link came by."""
    return [
        Planned(
            kind,
            channel,
            appt,
            recipient,
            link=link,
            ics=ics,
            sequence=sequence,
            key=f"{kind.value}:{appt.id}:{sequence}:{recipient.key}:{channel.value}",
            video=video,
        )
        for recipient, channel in holders
    ]


async def send(ctx: Context, actor: Actor, planned: Sequence[Planned]) -> list[Message]:
    """Make the links and queue the messages of ``planned`` (one commit each)."""
    if not planned:
        return []
    return (await (await prepare(ctx, actor, planned)).commit(ctx, actor)).messages


async def prepare(ctx: Context, actor: Actor, planned: Sequence[Planned]) -> Batch:
    """The links and rendered messages of ``planned``, nothing stored yet."""
    batch = Batch()
    for p in planned:
        await _add(ctx, actor, batch, p)
    return batch


#: Messages rendered between two yields to the event loop (about 2 ms each, measured:
#: a season's import renders thousands, and the waiting rooms must not stall meanwhile).
_YIELD_EVERY = 25


async def prepare_many(ctx: Context, actor: Actor, planned: Sequence[Planned]) -> Batch:
    """``prepare`` for an import's many messages, letting other work run between them."""
    batch = Batch()
    for n, p in enumerate(planned, start=1):
        await _add(ctx, actor, batch, p)
        if n % _YIELD_EVERY == 0:
            await asyncio.sleep(0)
    return batch


async def _add(ctx: Context, actor: Actor, batch: Batch, p: Planned) -> None:
    if p.link:
        await add_invitation(ctx, actor, batch, p.appt, p.recipient, p.channel, p.kind, p.sequence)
        return
    batch.messages.append(
        await build_message(
            ctx,
            p.appt,
            p.kind,
            p.channel,
            p.recipient,
            key=p.key,
            url="",
            link_id=None,
            ics=p.ics,
            sequence=p.sequence,
            video=p.video,
        )
    )
