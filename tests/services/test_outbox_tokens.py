"""A link's token is made when its message leaves: each attempt sends a working link, the
stored message never holds one, and a message whose link was revoked meanwhile is not
sent with a dead link (issue 12, item 3)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import msgspec
import pytest

from tests.messaging.support import (
    ADMIN,
    NOW,
    Clock,
    RecordingTransport,
    email,
    open_context,
    wait_events,
)
from tests.seeding import seed
from tlh.domain.links import Channel, JoinLink, LinkPurpose, ParticipantKind
from tlh.domain.messages import TOKEN_PLACEHOLDER, Message, MessageChannel, MessageStatus
from tlh.messaging.errors import TransientError
from tlh.services.context import Context
from tlh.services.events import EventBus
from tlh.services.links import find_by_token, hash_link_token
from tlh.services.outbox import LINK_REVOKED, OutboxWorker, enqueue
from tlh.store.base import Put

URL = f"https://tele.example.org/j#{TOKEN_PLACEHOLDER}"
# An .ics line long enough that its fold falls inside the placeholder.
LINE = f"DESCRIPTION:Join your video appointment at {URL}"
ICS = (
    "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\n"
    f"{LINE[:75]}\r\n {LINE[75:]}\r\n"
    "END:VEVENT\r\nEND:VCALENDAR\r\n"
)


@pytest.fixture
async def octx(tmp_path: Path) -> AsyncIterator[Context]:
    async with open_context(tmp_path / "data", Clock()) as ctx:
        yield ctx


def _link(**kw: object) -> JoinLink:
    fields: dict[str, object] = {
        "id": "lnk_1",
        "token_hash": "",  # made when the message leaves
        "purpose": LinkPurpose.JOIN,
        "participant": ParticipantKind.CLIENT,
        "client_id": "cli_1",
        "appointment_id": None,
        "channel": Channel.EMAIL,
        "created_at": NOW,
        "created_by": "stf_admin",
        "valid_from": NOW,
        "valid_until": NOW + timedelta(days=30),
    }
    fields.update(kw)
    return JoinLink(**fields)  # type: ignore[arg-type]


def _invitation() -> Message:
    return email(1, link_id="lnk_1", text=f"Join at {URL}\n", html=f"<a href='{URL}'>", ics=ICS)


def _token_of(message: Message) -> str:
    return message.text.split("/j#", 1)[1].strip()


async def _run(ctx: Context, transport: RecordingTransport) -> None:
    worker = OutboxWorker(ctx, {MessageChannel.EMAIL: transport}, poll_s=3600)
    assert isinstance(ctx.events, EventBus)
    sub = ctx.events.subscribe()
    await worker.start()
    try:
        await enqueue(ctx, ADMIN, [_invitation()])
        if transport.script:
            [retry] = await wait_events(sub, "message.retrying", 1)
            ctx_clock = ctx.clock
            assert isinstance(ctx_clock, Clock)
            ctx_clock.now = retry.data["next_attempt_at"]
            worker.wake()
        await wait_events(sub, "message.sent", 1)
    finally:
        await worker.close()


async def test_each_attempt_sends_a_working_link_and_none_is_stored(octx: Context) -> None:
    await seed(octx.store, [Put(_link())])
    transport = RecordingTransport(TransientError("the mail server timed out"))
    await _run(octx, transport)
    first, second = (_token_of(m) for m in transport.got)
    assert TOKEN_PLACEHOLDER not in (first, second)
    assert first != second  # the retry made a fresh token ...
    link = await find_by_token(octx, second)
    assert link is not None
    assert link.id == "lnk_1"
    assert await find_by_token(octx, first) is None
    sent = transport.got[1]
    assert sent.html == f"<a href='https://tele.example.org/j#{second}'>"
    assert second in (sent.ics or "").replace("\r\n ", "")  # refilled across the fold
    assert all(len(line) <= 75 for line in (sent.ics or "").split("\r\n"))
    stored = await octx.store.get(Message, "msg_0001")
    assert stored is not None
    assert stored.status is MessageStatus.SENT
    assert TOKEN_PLACEHOLDER in stored.text  # the outbox keeps no live link
    assert second not in msgspec.json.encode(stored).decode()


async def test_a_message_whose_link_was_revoked_is_not_sent(octx: Context) -> None:
    await seed(octx.store, [Put(_link(revoked_at=NOW))])
    transport = RecordingTransport()
    worker = OutboxWorker(octx, {MessageChannel.EMAIL: transport}, poll_s=3600)
    await worker.start()
    try:
        await enqueue(octx, ADMIN, [_invitation()])
        async with asyncio.timeout(5):
            while (m := await octx.store.get(Message, "msg_0001")) is None or (
                m.status is MessageStatus.QUEUED
            ):
                await asyncio.sleep(0.01)  # the worker runs on this loop
    finally:
        await worker.close()
    assert transport.got == []
    assert (m.status, m.last_error) == (MessageStatus.SKIPPED, LINK_REVOKED)
    stored = await octx.store.get(JoinLink, "lnk_1")
    assert stored is not None
    assert stored.token_hash == ""


def test_the_placeholder_is_as_long_as_a_token() -> None:
    assert len(TOKEN_PLACEHOLDER) == 43
    assert len(hash_link_token(TOKEN_PLACEHOLDER)) == 64
