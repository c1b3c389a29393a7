"""The outbox over the real store: enqueue dedupes, the worker sends at most once,
retries transient failures with backoff, and settles a crash mid-send as failed."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.messaging.support import (
    ADMIN,
    Clock,
    RecordingBus,
    SmtpServer,
    email,
    free_port,
    open_context,
    sms,
    wait_events,
)
from tests.seeding import audited, seed
from tlh.domain.messages import (
    MAX_ATTEMPTS,
    Message,
    MessageChannel,
    MessageStatus,
    next_attempt_at,
)
from tlh.messaging.config import SmtpConfig
from tlh.messaging.errors import PermanentError, TransientError
from tlh.messaging.file_transport import FileTransport
from tlh.messaging.smtp import SmtpTransport
from tlh.messaging.transports import Transport
from tlh.services.context import Context
from tlh.services.outbox import UNKNOWN_AFTER_RESTART, OutboxWorker, enqueue
from tlh.store.base import Put


class Scripted:
    """A transport answering from a script: an exception to raise, or success."""

    def __init__(self, channel: MessageChannel, *script: Exception | None) -> None:
        self.channel = channel
        self.script = list(script)
        self.calls: list[str] = []
        self.gate: asyncio.Event | None = None
        self.calls_seen = asyncio.Event()
        self.saturated = asyncio.Event()
        self.saturate_at = 1
        self.in_flight = 0
        self.max_in_flight = 0
        self.closed = False

    async def send(self, message: Message) -> str:
        self.calls.append(message.id)
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        self.calls_seen.set()
        if self.in_flight >= self.saturate_at:
            self.saturated.set()
        try:
            if self.gate is not None:
                await self.gate.wait()
            outcome = self.script.pop(0) if self.script else None
            if outcome is not None:
                raise outcome
            return f"p-{message.id}"
        finally:
            self.in_flight -= 1

    async def close(self) -> None:
        self.closed = True


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def octx(tmp_path: Path, clock: Clock) -> AsyncIterator[Context]:
    async with open_context(tmp_path / "data", clock) as ctx:
        yield ctx


def bus(ctx: Context) -> RecordingBus:
    assert isinstance(ctx.events, RecordingBus)
    return ctx.events


async def stored(ctx: Context, id: str) -> Message:
    found = await ctx.store.get(Message, id)
    assert found is not None
    return found


async def test_enqueue_stores_audits_publishes_and_dedupes(octx: Context) -> None:
    first = await enqueue(octx, ADMIN, [email(1), email(2), email(3, idempotency_key="invite:1")])
    assert [m.id for m in first] == ["msg_0001", "msg_0002", "msg_0001"]
    again = await enqueue(octx, ADMIN, [email(9, idempotency_key="invite:2")])
    assert [m.id for m in again] == ["msg_0002"]
    assert await octx.store.count(Message) == 2
    assert (await stored(octx, "msg_0001")).status is MessageStatus.QUEUED
    assert await audited(octx) == [  # type: ignore[attr-defined]
        ("stf_admin", "message.queue", "msg_0001"),
        ("stf_admin", "message.queue", "msg_0002"),
    ]
    assert bus(octx).published == [("outbox.queued", {"ids": ["msg_0001", "msg_0002"]})]


async def test_worker_wakes_on_enqueue_and_sends_to_files(octx: Context, tmp_path: Path) -> None:
    drop = tmp_path / "data-mail"
    transports: dict[MessageChannel, Transport] = {
        MessageChannel.EMAIL: FileTransport(MessageChannel.EMAIL, drop),
        MessageChannel.SMS: FileTransport(MessageChannel.SMS, drop),
    }
    # A poll far beyond the test's timeout: only the wake-up can deliver in time.
    worker = OutboxWorker(octx, transports, poll_s=3600)
    sub = bus(octx).subscribe()
    await worker.start()
    try:
        await enqueue(octx, ADMIN, [email(1), sms(1)])
        events = await wait_events(sub, "message.sent", 2, timeout=5)
    finally:
        await worker.close()
    assert {e.data["id"] for e in events} == {"msg_0001", "msg_s0001"}
    assert all(
        set(e.data) == {"id", "kind", "channel", "appointment_id", "client_id"} for e in events
    )
    sent = await stored(octx, "msg_0001")
    written = f"file:{drop / 'msg_0001.eml'}"  # written, not sent: it says where
    assert (sent.status, sent.attempts, sent.provider_id) == (MessageStatus.SENT, 1, written)
    assert sent.sent_at is not None
    assert sorted(p.name for p in drop.iterdir()) == ["msg_0001.eml", "msg_s0001.txt"]


async def test_transient_failure_backs_off_then_sends_once(octx: Context, clock: Clock) -> None:
    transport = Scripted(MessageChannel.EMAIL, TransientError("SMTP server timed out"))
    worker = OutboxWorker(octx, {MessageChannel.EMAIL: transport}, poll_s=3600)
    sub = bus(octx).subscribe()
    await worker.start()
    try:
        await enqueue(octx, ADMIN, [email(1)])
        [event] = await wait_events(sub, "message.retrying", 1)
        waiting = await stored(octx, "msg_0001")
        assert (waiting.status, waiting.attempts) == (MessageStatus.QUEUED, 1)
        assert event.data["next_attempt_at"] == waiting.next_attempt_at
        assert waiting.last_error == "SMTP server timed out"
        assert waiting.next_attempt_at == next_attempt_at(1, clock.now)
        worker.wake()  # not yet due: nothing happens
        clock.now = waiting.next_attempt_at
        worker.wake()
        await wait_events(sub, "message.sent", 1)
    finally:
        await worker.close()
    assert transport.calls == ["msg_0001", "msg_0001"]
    assert (await stored(octx, "msg_0001")).attempts == 2
    assert transport.closed


async def test_a_retry_that_goes_through_releases_the_backed_off_queue(
    octx: Context, clock: Clock
) -> None:
    down = TransientError("SMTP server unreachable")
    transport = Scripted(MessageChannel.EMAIL, down, down, down)
    worker = OutboxWorker(octx, {MessageChannel.EMAIL: transport}, poll_s=3600)
    sub = bus(octx).subscribe()
    await worker.start()
    try:
        await enqueue(octx, ADMIN, [email(1)])
        await wait_events(sub, "message.retrying", 1)
        clock.advance(seconds=3)
        await enqueue(octx, ADMIN, [email(2), email(3)])
        await wait_events(sub, "message.retrying", 2)
        later = (await stored(octx, "msg_0002")).next_attempt_at
        clock.now = (await stored(octx, "msg_0001")).next_attempt_at  # only the first is due
        assert clock.now < later
        worker.wake()
        sent = await wait_events(sub, "message.sent", 3)
    finally:
        await worker.close()
    assert {e.data["id"] for e in sent} == {"msg_0001", "msg_0002", "msg_0003"}
    assert sorted(transport.calls) == sorted(["msg_0001", "msg_0002", "msg_0003"] * 2)


@pytest.mark.parametrize("attempts_before", [0, MAX_ATTEMPTS - 1])
async def test_permanent_failure_or_last_attempt_fails_and_tells_staff(
    octx: Context, attempts_before: int
) -> None:
    error = (
        PermanentError("SMTP server refused the message (550)")
        if not attempts_before
        else TransientError("SMTP server timed out")
    )
    transport = Scripted(MessageChannel.EMAIL, error)
    worker = OutboxWorker(octx, {MessageChannel.EMAIL: transport}, poll_s=3600)
    sub = bus(octx).subscribe()
    await worker.start()
    try:
        await enqueue(octx, ADMIN, [email(1, attempts=attempts_before)])
        [event] = await wait_events(sub, "message.failed", 1)
    finally:
        await worker.close()
    assert event.data == {
        "id": "msg_0001",
        "kind": "invitation",
        "channel": "email",
        "appointment_id": "apt_1",
        "client_id": "cli_1",
    }
    failed = await stored(octx, "msg_0001")
    assert failed.status is MessageStatus.FAILED
    assert failed.last_error.startswith(str(error))
    assert ("system", "message.fail", "msg_0001") in await audited(octx)


async def test_sends_run_concurrently_up_to_the_limit(octx: Context) -> None:
    transport = Scripted(MessageChannel.EMAIL)
    transport.gate = asyncio.Event()
    transport.saturate_at = 8
    worker = OutboxWorker(octx, {MessageChannel.EMAIL: transport}, poll_s=3600, concurrency=8)
    sub = bus(octx).subscribe()
    await worker.start()
    try:
        await enqueue(octx, ADMIN, [email(n) for n in range(40)])
        await asyncio.wait_for(transport.saturated.wait(), 5)
        transport.gate.set()
        await wait_events(sub, "message.sent", 40)
    finally:
        await worker.close()
    assert transport.max_in_flight == 8
    assert sorted(transport.calls) == [f"msg_{n:04d}" for n in range(40)]


async def test_graceful_close_finishes_sends_and_requeues_unsent(octx: Context) -> None:
    transport = Scripted(MessageChannel.EMAIL)
    transport.gate = asyncio.Event()
    worker = OutboxWorker(octx, {MessageChannel.EMAIL: transport}, poll_s=3600, concurrency=1)
    await worker.start()
    await enqueue(octx, ADMIN, [email(1), email(2)])
    await asyncio.wait_for(transport.calls_seen.wait(), 5)
    closing = asyncio.create_task(worker.close(grace_s=5))
    transport.gate.set()
    await asyncio.wait_for(closing, 5)
    assert transport.calls == ["msg_0001"]
    assert (await stored(octx, "msg_0001")).status is MessageStatus.SENT
    unsent = await stored(octx, "msg_0002")
    assert (unsent.status, unsent.attempts) == (MessageStatus.QUEUED, 0)


async def test_a_crash_mid_send_is_never_resent(tmp_path: Path, clock: Clock) -> None:
    data = tmp_path / "data"
    hang = Scripted(MessageChannel.EMAIL)
    hang.gate = asyncio.Event()  # never set: the "server" dies mid-send
    async with open_context(data, clock) as ctx:
        worker = OutboxWorker(ctx, {MessageChannel.EMAIL: hang}, poll_s=3600)
        await worker.start()
        await enqueue(ctx, ADMIN, [email(1)])
        await asyncio.wait_for(hang.calls_seen.wait(), 5)
        await worker.close(grace_s=0)  # like a kill: the outcome is never recorded
        assert (await stored(ctx, "msg_0001")).status is MessageStatus.SENDING
    after = Scripted(MessageChannel.EMAIL)
    async with open_context(data, clock) as ctx:
        worker = OutboxWorker(ctx, {MessageChannel.EMAIL: after}, poll_s=3600)
        await worker.start()
        worker.wake()
        await worker.close()
        failed = await stored(ctx, "msg_0001")
        assert (failed.status, failed.last_error) == (MessageStatus.FAILED, UNKNOWN_AFTER_RESTART)
        assert (
            "message.failed",
            {
                "id": "msg_0001",
                "kind": "invitation",
                "channel": "email",
                "appointment_id": "apt_1",
                "client_id": "cli_1",
            },
        ) in bus(ctx).published
    assert after.calls == []


async def test_smtp_down_then_up_delivers_exactly_once(octx: Context, clock: Clock) -> None:
    server = SmtpServer(port=free_port())  # not started yet: nothing listens
    config = SmtpConfig(
        host="127.0.0.1", port=server.port, security="none", from_address="p@example.org"
    )
    worker = OutboxWorker(octx, {MessageChannel.EMAIL: SmtpTransport(config)}, poll_s=3600)
    sub = bus(octx).subscribe()
    await worker.start()
    try:
        await enqueue(octx, ADMIN, [email(n) for n in range(5)])
        await wait_events(sub, "message.retrying", 5)
        assert server.received.envelopes == []
        assert all("unreachable" in m.last_error for m in await octx.store.all(Message))  # type: ignore[attr-defined]
        server.start()
        clock.advance(minutes=1)
        worker.wake()
        await wait_events(sub, "message.sent", 5)
        worker.wake()  # nothing further to send
    finally:
        await worker.close()
        server.stop()
    ids = server.received.message_ids()
    assert sorted(ids) == sorted(f"<msg_{n:04d}@example.org>" for n in range(5))
    assert all(m.attempts == 2 for m in await octx.store.all(Message))  # type: ignore[attr-defined]


async def test_start_settles_only_sending_messages(octx: Context) -> None:
    await seed(
        octx.store,
        [
            Put(email(1, status=MessageStatus.SENDING, attempts=1)),
            Put(email(2, status=MessageStatus.SENT, attempts=1)),
        ],
    )
    worker = OutboxWorker(octx, {}, poll_s=3600)
    await worker.start()
    await worker.close()
    assert (await stored(octx, "msg_0001")).status is MessageStatus.FAILED
    assert (await stored(octx, "msg_0002")).status is MessageStatus.SENT
