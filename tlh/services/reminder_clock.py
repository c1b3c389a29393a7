"""The reminder clock: every interval, queue the reminders that have fallen due.

Which reminders are due is the domain's answer (``due_reminders``); what they say and
to whom is the services' (a ``RenderReminder`` callback that knows templates, links and
recipients). The clock only asks, renders and enqueues.

Idempotent by construction: a reminder counts as sent once any outbox message carries
its key, so repeated ticks, restarts and two clocks racing can never send it twice. A
reminder that fell due while the server was down goes out at the first tick after the
start, unless the appointment has already begun.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import datetime, timedelta

from tlh.domain.messages import Message, MessageChannel, MessageKind, MessageStatus
from tlh.domain.models import Appointment
from tlh.domain.reminders import ReminderDue, due_reminders
from tlh.services.context import SYSTEM, Context, new_id
from tlh.services.outbox import enqueue

log = logging.getLogger(__name__)

#: Builds the messages of one due reminder (one per recipient and channel). Each
#: message's ``idempotency_key`` must be ``reminder_message_key(due, ...)``.
RenderReminder = Callable[[Appointment, ReminderDue], Awaitable[list[Message]]]

#: Separates a reminder's key from the recipient part in a message's idempotency key.
KEY_SEPARATOR = "/"


def reminder_message_key(due: ReminderDue, channel: MessageChannel, recipient_id: str) -> str:
    """The idempotency key of one message of ``due``: ``<due.key>/<channel>/<recipient>``."""
    return f"{due.key}{KEY_SEPARATOR}{channel}{KEY_SEPARATOR}{recipient_id}"


#: Messages that carry an appointment's join link when it is booked or moved.
INVITING = frozenset({MessageKind.INVITATION, MessageKind.RESCHEDULE})


async def outbox_of(ctx: Context, appt: Appointment) -> tuple[set[str], datetime | None]:
    """The reminder keys (and full idempotency keys) already in the outbox for an
    appointment, whatever became of those messages (sent, queued, failed or skipped),
    and when the latest invitation (or reschedule notice) with a join link was queued
    for it (``None``: never)."""
    return (await outboxes_of(ctx, [appt]))[appt.id]


async def outboxes_of(
    ctx: Context, appts: Sequence[Appointment]
) -> dict[str, tuple[set[str], datetime | None]]:
    """``outbox_of`` each appointment, by id, from one read of their messages (a tick
    of a busy day, an import: one query, not one per visit). A visit's messages were
    all made once it was: months of messages older than the oldest visit are not read
    (``ending_after``)."""
    if not appts:
        return {}
    since = min(a.created_at for a in appts) - CLOCK_SLACK
    found = await ctx.store.find_many(
        Message, "appointment_id", [a.id for a in appts], ending_after=since
    )
    return {a.id: _outbox(found.get(a.id, [])) for a in appts}


def _outbox(messages: Iterable[Message]) -> tuple[set[str], datetime | None]:
    keys: set[str] = set()
    invited: datetime | None = None
    for message in messages:
        keys.add(message.idempotency_key)
        keys.add(message.idempotency_key.partition(KEY_SEPARATOR)[0])
        if message.kind in INVITING and message.link_id is not None:
            invited = max(invited or message.created_at, message.created_at)
    return keys, invited


#: Visits a tick checks between two turns of the event loop.
YIELD_EVERY = 50

#: How far a message's time may precede its appointment's ``created_at`` (both are
#: the server's clock; an import's rows and their notices share one instant).
CLOCK_SLACK = timedelta(days=1)


#: Why a held-back reminder was never sent (its outbox record's ``last_error``).
HELD_BACK = "held back: written with notify off (--no-notify)"


def held_back(dues: Sequence[tuple[Appointment, ReminderDue]], now: datetime) -> list[Message]:
    """One ``skipped`` outbox record per reminder that was due when its appointment was
    written with notify off: it carries the reminder's key, so no tick ever sends it, and
    nothing else (no address, no words)."""
    return [
        Message(
            id=new_id("msg"),
            idempotency_key=due.key,
            kind=due.kind,
            channel=due.channels[0],
            to="",
            text="",
            status=MessageStatus.SKIPPED,
            last_error=HELD_BACK,
            next_attempt_at=now,
            created_at=now,
            appointment_id=appt.id,
        )
        for appt, due in dues
    ]


class ReminderClock:
    """Ticks every ``interval_s``; ``tick(now)`` is public so tests move time by hand.

    With ``render=None`` the clock runs but sends nothing (a server without templates).
    """

    def __init__(
        self,
        ctx: Context,
        render: RenderReminder | None,
        clock: Callable[[], datetime] | None = None,
        interval_s: float = 30.0,
    ) -> None:
        self.ctx = ctx
        self.render = render
        self.clock = clock or ctx.clock
        self.interval_s = interval_s
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    async def start(self) -> None:
        """Start ticking (the first tick is immediate: catch up after a restart)."""
        if self._task is not None:
            raise RuntimeError("the reminder clock is already started")
        self._task = asyncio.create_task(self._run(), name="tlh-reminder-clock")

    async def close(self) -> None:
        """Stop ticking; a tick under way is cancelled (its enqueue is all-or-nothing)."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def tick(self, now: datetime | None = None) -> list[Message]:
        """Queue every reminder due at ``now`` (default: the clock); return what was new."""
        async with self._lock:  # a manual tick and the timer never overlap
            return await self._tick(now or self.clock())

    async def _tick(self, now: datetime) -> list[Message]:
        if self.render is None:
            return []
        policy = self.ctx.policy()
        horizon = now + timedelta(hours=policy.reminder_email_hours, minutes=60)
        queued: list[Message] = []
        # Under way: overlaps the range but is past reminding.
        ahead = [
            a for a in await self.ctx.store.appointments_between(now, horizon) if a.start >= now
        ]
        outboxes = await outboxes_of(self.ctx, ahead)
        for n, appt in enumerate(ahead, 1):
            if n % YIELD_EVERY == 0:
                # A busy day's thousands of visits are checked in slices: the arrivals
                # and signals meanwhile are not held up behind the whole tick.
                await asyncio.sleep(0)
            already, invited = outboxes[appt.id]
            for due in due_reminders(appt, policy, now, already, invited):
                try:
                    messages = await self.render(appt, due)
                except Exception:
                    # One appointment's bad data must not stop everyone else's reminders.
                    log.exception("rendering reminder %s failed", due.key)
                    continue
                keyed = [
                    m for m in messages if m.idempotency_key.partition(KEY_SEPARATOR)[0] == due.key
                ]
                if len(keyed) != len(messages):
                    # Without the key the outbox could not tell it was sent: never send it.
                    log.error("reminder %s: messages without its key were dropped", due.key)
                messages = keyed
                if messages:
                    stored = await enqueue(self.ctx, SYSTEM, messages)
                    known = {m.id for m in messages}
                    queued.extend(m for m in stored if m.id in known)
        return queued

    async def _run(self) -> None:
        while True:
            try:
                await self.tick()
            except Exception:  # the clock keeps ticking; the log says why one tick failed
                log.exception("reminder tick failed")
            await asyncio.sleep(self.interval_s)
