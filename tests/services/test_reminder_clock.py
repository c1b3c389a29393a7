"""The reminder clock over the real store: due reminders are queued once, whatever the
ticks and restarts; time moves by hand through ``tick(now)``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path

import msgspec
import pytest

from tests.messaging.support import NOW, Clock, RecordingBus, open_context, wait_events
from tests.seeding import seed
from tlh.domain.messages import Message, MessageKind
from tlh.domain.models import Appointment, Modality, Status
from tlh.domain.reminders import ReminderDue
from tlh.services.context import Context
from tlh.services.reminder_clock import ReminderClock, reminder_message_key
from tlh.store.base import Put

START = NOW + timedelta(days=2)


def appt(
    id: str = "apt_1", status: Status = Status.CONFIRMED, start: datetime = START
) -> Appointment:
    return Appointment(
        id=id,
        modality=Modality.TELEHEALTH,
        status=status,
        clinician_ids=("stf_doc",),
        client_ids=("cli_1",),
        start=start,
        duration_min=50,
        created_at=NOW,
        updated_at=NOW,
    )


class Renderer:
    """Stands in for the services' renderer: one message per channel, keyed properly."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, MessageKind]] = []
        self.fail_for: set[str] = set()

    async def __call__(self, appointment: Appointment, due: ReminderDue) -> list[Message]:
        self.calls.append((appointment.id, due.kind))
        if appointment.id in self.fail_for:
            raise RuntimeError("template broke")
        return [
            Message(
                id=f"msg_{appointment.id}_{due.kind}_{channel}",
                idempotency_key=reminder_message_key(due, channel, "cli_1"),
                kind=due.kind,
                channel=channel,
                to="client@example.com" if channel == "email" else "+15555550100",
                text="Your session is soon.",
                next_attempt_at=due.due_at,
                created_at=due.due_at,
                appointment_id=appointment.id,
                client_id="cli_1",
            )
            for channel in due.channels
        ]


@pytest.fixture
async def ctx(tmp_path: Path) -> AsyncIterator[Context]:
    async with open_context(tmp_path / "data", Clock()) as c:
        yield c


async def add(ctx: Context, *appointments: Appointment) -> None:
    await seed(ctx.store, [Put(a) for a in appointments])


def kinds(messages: list[Message]) -> list[tuple[str, str]]:
    return sorted((m.kind.value, m.channel.value) for m in messages)


async def test_each_reminder_is_queued_once_at_its_time(ctx: Context) -> None:
    await add(ctx, appt())
    render = Renderer()
    clock = ReminderClock(ctx, render)
    assert await clock.tick(START - timedelta(hours=24, minutes=1)) == []
    day_before = await clock.tick(START - timedelta(hours=24))
    assert kinds(day_before) == [("reminder_24h", "email")]
    assert await clock.tick(START - timedelta(hours=23)) == []
    soon = await clock.tick(START - timedelta(minutes=30))
    assert kinds(soon) == [("reminder_soon", "email"), ("reminder_soon", "sms")]
    assert await clock.tick(START - timedelta(minutes=20)) == []
    assert await ctx.store.count(Message) == 3
    assert render.calls == [
        ("apt_1", MessageKind.REMINDER_24H),
        ("apt_1", MessageKind.REMINDER_SOON),
    ]


async def test_a_restarted_clock_does_not_repeat_and_catches_up(tmp_path: Path) -> None:
    data = tmp_path / "data"
    async with open_context(data, Clock()) as ctx:
        await add(ctx, appt())
        assert len(await ReminderClock(ctx, Renderer()).tick(START - timedelta(hours=24))) == 1
    # "Down" from then until two hours before the start: nothing repeats on the way up.
    async with open_context(data, Clock()) as ctx:
        render = Renderer()
        assert await ReminderClock(ctx, render).tick(START - timedelta(hours=2)) == []
        assert render.calls == []


async def test_a_reminder_missed_while_down_is_sent_on_return(ctx: Context) -> None:
    await add(ctx, appt())
    queued = await ReminderClock(ctx, Renderer()).tick(START - timedelta(hours=3))
    assert kinds(queued) == [("reminder_24h", "email")]


@pytest.mark.parametrize(
    ("status", "at"),
    [
        (Status.CANCELLED, START - timedelta(minutes=30)),
        (Status.MISSED, START - timedelta(minutes=30)),
        (Status.CONFIRMED, START + timedelta(minutes=1)),  # already started
    ],
)
async def test_no_reminders_for_cancelled_missed_or_started(
    ctx: Context, status: Status, at: datetime
) -> None:
    await add(ctx, appt(status=status))
    render = Renderer()
    assert await ReminderClock(ctx, render).tick(at) == []
    assert render.calls == []


async def test_one_broken_appointment_does_not_stop_the_others(ctx: Context) -> None:
    later = START + timedelta(minutes=5)
    await add(ctx, appt("apt_bad"), appt("apt_good", start=later))
    render = Renderer()
    render.fail_for = {"apt_bad"}
    queued = await ReminderClock(ctx, render).tick(START - timedelta(hours=23))
    assert [m.appointment_id for m in queued] == ["apt_good"]


async def test_messages_without_the_reminder_key_are_never_queued(ctx: Context) -> None:
    await add(ctx, appt())

    async def careless(appointment: Appointment, due: ReminderDue) -> list[Message]:
        good = await Renderer()(appointment, due)
        return [msgspec.structs.replace(m, idempotency_key="random") for m in good]

    assert await ReminderClock(ctx, careless).tick(START - timedelta(hours=23)) == []
    assert await ctx.store.count(Message) == 0


async def test_started_clock_ticks_at_once_and_enqueues(ctx: Context) -> None:
    await add(ctx, appt())
    assert isinstance(ctx.events, RecordingBus)
    sub = ctx.events.subscribe()
    clock = ReminderClock(
        ctx, Renderer(), clock=lambda: START - timedelta(hours=1), interval_s=3600
    )
    await clock.start()
    try:
        [event] = await wait_events(sub, "outbox.queued", 1, timeout=5)
    finally:
        await clock.close()
    assert event.data["ids"] == ["msg_apt_1_reminder_24h_email"]


async def test_without_a_renderer_nothing_is_sent(ctx: Context) -> None:
    await add(ctx, appt())
    assert await ReminderClock(ctx, None).tick(START - timedelta(minutes=30)) == []
