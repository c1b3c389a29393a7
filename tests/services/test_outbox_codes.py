"""A one-time code is made when its message leaves: each attempt sends a fresh code and a
failed attempt's code dies, a message never sent leaves no code that works, a request
replaced by a newer one is not sent, and no stored message holds a code (the portal's
sign-in and a link's identity check, over the real outbox and store)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import msgspec
import pytest

from tests.messaging.support import NOW, Clock, RecordingTransport, open_context, wait_events
from tests.seeding import seed
from tlh.api.links import IdentityAnswer
from tlh.domain.links import Channel, JoinLink, LinkPurpose, ParticipantKind
from tlh.domain.messages import CODE_PLACEHOLDER, Message, MessageChannel, MessageStatus
from tlh.domain.models import Client, IdentityCheck, Policy
from tlh.messaging.errors import PermanentError, TransientError
from tlh.services import identity, outbox
from tlh.services.context import Context
from tlh.services.events import EventBus, Subscription
from tlh.services.outbox import OutboxWorker
from tlh.services.portal_signin import PortalCodes, SignInFailed
from tlh.store.base import Put

ADDRESS = "ana@example.org"


@pytest.fixture
async def octx(tmp_path: Path) -> AsyncIterator[Context]:
    async with open_context(tmp_path / "data", Clock()) as ctx:
        policy = Policy(practice_name="Test practice", identity_check=IdentityCheck.CODE)
        client = Client(id="cli_1", name="Ana", email=ADDRESS, created_at=NOW, updated_at=NOW)
        await seed(ctx.store, [Put(policy), Put(client)])
        yield ctx


def _clock(ctx: Context) -> Clock:
    assert isinstance(ctx.clock, Clock)
    return ctx.clock


def _code(message: Message) -> str:
    found = re.search(r"\b(\d{6})\b", message.text)
    assert found, "the message leaves with its code"
    assert CODE_PLACEHOLDER not in message.text
    return found.group(1)


async def _stored(ctx: Context) -> list[Message]:
    return sorted(
        await ctx.store.all(Message),
        key=lambda m: (m.created_at, m.id),
    )


async def _worker(ctx: Context, transport: RecordingTransport) -> tuple[OutboxWorker, Subscription]:
    assert isinstance(ctx.events, EventBus)
    sub = ctx.events.subscribe()
    worker = OutboxWorker(ctx, {MessageChannel.EMAIL: transport}, poll_s=3600)
    await worker.start()
    return worker, sub


async def _retry_now(ctx: Context, worker: OutboxWorker, sub: Subscription) -> None:
    """After one transient failure: move the clock to the retry and let it go."""
    [retry] = await wait_events(sub, "message.retrying", 1)
    _clock(ctx).now = retry.data["next_attempt_at"]
    worker.wake()
    await wait_events(sub, "message.sent", 1)


async def _portal_fails(ctx: Context, codes: PortalCodes, code: str) -> bool:
    try:
        await codes.check(ctx, MessageChannel.EMAIL, ADDRESS, code, "")
    except SignInFailed:
        return True
    return False


async def test_a_retried_portal_code_is_a_new_one_and_the_old_one_dies(octx: Context) -> None:
    codes = PortalCodes(clock=octx.clock)
    transport = RecordingTransport(TransientError("the mail server timed out"))
    worker, sub = await _worker(octx, transport)
    try:
        await codes.send(octx, MessageChannel.EMAIL, ADDRESS, "")
        [failed] = await wait_events(sub, "message.retrying", 1)
        first = _code(transport.got[0])
        assert await _portal_fails(octx, codes, first)  # it never arrived: it is dead
        _clock(octx).now = failed.data["next_attempt_at"]
        worker.wake()
        await wait_events(sub, "message.sent", 1)
    finally:
        await worker.close()
        sub.close()
    second = _code(transport.got[1])
    if second != first:  # one chance in a million they are the same
        assert await _portal_fails(octx, codes, first)
    [stored] = await _stored(octx)
    assert stored.status is MessageStatus.SENT
    assert CODE_PLACEHOLDER in stored.text
    kept = msgspec.json.encode(stored).decode()
    assert first not in kept
    assert second not in kept
    person = await codes.check(octx, MessageChannel.EMAIL, ADDRESS, second, "")
    assert person.client_id == "cli_1"
    assert await _portal_fails(octx, codes, second)  # used once


async def test_a_portal_code_that_never_left_does_not_sign_in(octx: Context) -> None:
    codes = PortalCodes(clock=octx.clock)
    transport = RecordingTransport(PermanentError("mailbox unknown"))
    worker, sub = await _worker(octx, transport)
    try:
        await codes.send(octx, MessageChannel.EMAIL, ADDRESS, "")
        await wait_events(sub, "message.failed", 1)
    finally:
        await worker.close()
        sub.close()
    assert await _portal_fails(octx, codes, _code(transport.got[0]))


async def test_a_request_asked_again_before_it_left_is_not_sent(octx: Context) -> None:
    codes = PortalCodes(clock=octx.clock)
    await codes.send(octx, MessageChannel.EMAIL, ADDRESS, "")
    await codes.send(octx, MessageChannel.EMAIL, ADDRESS, "")
    transport = RecordingTransport()
    worker, sub = await _worker(octx, transport)
    try:
        await wait_events(sub, "message.sent", 1)
    finally:
        await worker.close()
        sub.close()
    [sent] = transport.got  # the newer request's (the first asked is gone)
    [old] = [m for m in await _stored(octx) if m.id != sent.id]
    assert old.status is MessageStatus.SKIPPED
    assert old.last_error == outbox.CODE_GONE
    assert (await codes.check(octx, MessageChannel.EMAIL, ADDRESS, _code(sent), "")).ids


def _link() -> JoinLink:
    return JoinLink(
        id="lnk_1",
        token_hash="",
        purpose=LinkPurpose.JOIN,
        participant=ParticipantKind.CLIENT,
        client_id="cli_1",
        appointment_id=None,
        channel=Channel.EMAIL,
        created_at=NOW,
        created_by="stf_admin",
        valid_from=NOW,
        valid_until=NOW + timedelta(days=30),
    )


async def _identity_fails(
    ctx: Context, checks: identity.IdentityChecks, link: JoinLink, code: str
) -> bool:
    try:
        await identity.check(ctx, checks, link, "session-1", IdentityAnswer(code=code))
    except identity.IdentityFailed:
        return True
    return False


async def test_a_retried_identity_code_is_a_new_one_and_the_old_one_dies(
    octx: Context,
) -> None:
    link = _link()
    await seed(octx.store, [Put(link)])
    checks = identity.IdentityChecks()
    transport = RecordingTransport(TransientError("the mail server timed out"))
    worker, sub = await _worker(octx, transport)
    try:
        await identity.send_code(octx, checks, link, MessageChannel.EMAIL)
        await _retry_now(octx, worker, sub)
    finally:
        await worker.close()
        sub.close()
    first, second = (_code(m) for m in transport.got)
    [stored] = await _stored(octx)
    assert CODE_PLACEHOLDER in stored.text
    assert first not in msgspec.json.encode(stored).decode()
    if second != first:  # one chance in a million they are the same
        assert await _identity_fails(octx, checks, link, first)
    await identity.check(octx, checks, link, "session-1", IdentityAnswer(code=second))
    assert checks.is_verified(link.id, "session-1")
    assert await _identity_fails(octx, checks, link, second)  # used once
