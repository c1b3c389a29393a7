"""The tables that grow with history (messages, join links, confirm/cancel links,
session segments) answer every read the same on every backend, after a reopen too:
on ``tiny-cold`` each of their months is then on disk, read on demand, and a change
to an old record takes its month back in."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import timedelta

import msgspec
import pytest

from tests.seeding import seed
from tests.store.conftest import T0, action, link, message, segment
from tests.store.contract.conftest import Backend, Store
from tlh.domain.action_links import ActionLink
from tlh.domain.links import JoinLink
from tlh.domain.messages import Message, MessageStatus
from tlh.domain.sessions import SessionSegment
from tlh.errors import InvalidInput
from tlh.services.context import SYSTEM
from tlh.store.base import Delete, Put, note

MONTH = timedelta(days=31)


def history() -> list[Put]:
    """A year of a practice's records, a few a month."""
    puts: list[Put] = []
    for n in range(12):
        at = T0 - n * MONTH
        status = MessageStatus.FAILED if n % 4 == 0 else MessageStatus.SENT
        puts += [
            Put(message(f"msg_{n:02d}", at, status, appointment_id=f"apt_{n % 3}",
                        link_id=f"lnk_{n:02d}")),
            Put(link(f"lnk_{n:02d}", at, appointment_id=f"apt_{n % 3}", client_id="cli_1")),
            Put(action(f"act_{n:02d}", at, appointment_id=f"apt_{n % 3}")),
            Put(segment(f"ses_{n:02d}", at, appointment_id=f"apt_{n % 3}")),
        ]  # fmt: skip
    puts += [
        Put(message("msg_queued", T0, MessageStatus.QUEUED)),
        Put(segment("ses_open", T0 - 6 * MONTH, ended=False)),
    ]
    return puts


async def answers(store: Store) -> list[object]:
    """What the reads say about that history."""
    return [
        await store.get(Message, "msg_07"),
        await store.get(JoinLink, "lnk_11"),
        await store.get(ActionLink, "act_05"),
        await store.get(SessionSegment, "ses_09"),
        await store.get(Message, "msg_99"),
        [m.id for m in await store.find(Message, "appointment_id", "apt_1")],
        [m.id for m in await store.find(Message, "link_id", "lnk_10")],
        [m.id for m in await store.find(Message, "idempotency_key", "reminder:msg_08")],
        [k.id for k in await store.find(JoinLink, "token_hash", "hash-lnk_09")],
        [a.id for a in await store.find(ActionLink, "appointment_id", "apt_2")],
        [s.id for s in await store.find(SessionSegment, "clinician_id", "stf_1")],
        [s.id for s in await store.find(SessionSegment, "open_clinician_id", "stf_1")],
        {
            k: [m.id for m in v]
            for k, v in (await store.find_many(Message, "appointment_id", ["apt_0", "x"])).items()
        },
        sorted(await store.get_many(JoinLink, ["lnk_00", "lnk_06", "lnk_99"])),
        sorted(m.id for m in await store.all(Message)),
        [await store.count(kind) for kind in (Message, JoinLink, ActionLink, SessionSegment)],
        [await store.count(Message, "status", s) for s in MessageStatus],
        await store.count(Message, "appointment_id", "apt_2"),
    ]


async def test_history_answers_the_same_after_a_reopen(backend: Backend) -> None:
    first = backend.make()
    await first.open()
    await seed(first, history())
    before = await answers(first)
    await first.close()
    assert before[5] == ["msg_01", "msg_04", "msg_07", "msg_10"]
    assert before[11] == ["ses_open"]
    assert before[16] == [1, 0, 9, 3, 0]  # queued, sending, sent, failed, skipped
    again = backend.make()
    await again.open()
    try:
        assert await answers(again) == before
    finally:
        await again.close()


@contextlib.asynccontextmanager
async def reopened(backend: Backend) -> AsyncIterator[Store]:
    """The backend's store holding ``history()``, closed and opened again (on
    ``tiny-cold`` its old months are then on disk)."""
    first = backend.make()
    await first.open()
    await seed(first, history())
    await first.close()
    store = backend.make()
    await store.open()
    try:
        yield store
    finally:
        await store.close()


async def test_a_change_to_an_old_record_is_kept(backend: Backend) -> None:
    async with reopened(backend) as store:
        old = await store.get(Message, "msg_08")
        assert old is not None
        assert old.status is MessageStatus.FAILED
        retried = msgspec.structs.replace(old, status=MessageStatus.SENT, sent_at=T0)
        await store.commit([Put(retried)], audit=[note(SYSTEM, "message.retry", old.id)])
        await store.commit([Delete(JoinLink, "lnk_10")], audit=[note(SYSTEM, "t", "lnk_10")])
        assert await store.count(Message, "status", MessageStatus.FAILED) == 2
        assert await store.get(JoinLink, "lnk_10") is None
    again = backend.make()
    await again.open()
    try:
        assert await again.get(Message, "msg_08") == retried
        assert await again.count(Message, "status", MessageStatus.FAILED) == 2
        assert await again.count(Message, "status", MessageStatus.SENT) == 10
        assert await again.get(JoinLink, "lnk_10") is None
        assert [m.id for m in await again.find(Message, "link_id", "lnk_10")] == ["msg_10"]
        assert await again.count(JoinLink) == 11
    finally:
        await again.close()


async def test_find_many_for_what_is_current_answers_as_find_does(backend: Backend) -> None:
    """``find_many(..., ending_after=)`` gives each value what ``find`` with the same
    bound gives: everything that ends after it (older records may be passed over)."""
    async with reopened(backend) as store:
        since = T0 - 4 * MONTH
        values = ["apt_0", "apt_1", "apt_9"]
        many = await store.find_many(Message, "appointment_id", values, ending_after=since)
        each = {
            v: await store.find(Message, "appointment_id", v, ending_after=since) for v in values
        }
        assert many == each
        assert {m.id for m in many["apt_0"]} >= {"msg_00", "msg_03"}  # ending after since
        assert many["apt_9"] == []


async def test_count_refuses_what_is_not_indexed(store: Store) -> None:
    with pytest.raises(InvalidInput):
        await store.count(Message, "to", "person@example.org")
    with pytest.raises(InvalidInput):
        await store.count(Message, "status", None)
