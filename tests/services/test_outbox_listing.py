"""Listing the outbox: the last 30 days and whatever is not sent yet by default, older
days when asked for (``since``), every listed message's read audited; on the embedded
store, the default listing reads no month left on disk."""

from __future__ import annotations

import asyncio
import shutil
from datetime import timedelta
from pathlib import Path

import msgspec
import pytest

from tests.seeding import seed
from tests.services.conftest import ADMIN, NOW, SEED, RecordingEvents
from tests.store.conftest import message
from tlh.domain.messages import MessageStatus
from tlh.domain.models import Role
from tlh.errors import Forbidden, InvalidInput
from tlh.services.context import Actor, Context
from tlh.services.outbox_reads import list_messages
from tlh.store.base import Put, Repository
from tlh.store.layout import init_data_dir
from tlh.store.tinystore import TinyStore

HISTORY = [
    Put(message("msg_old", NOW - timedelta(days=90))),
    Put(message("msg_old_failed", NOW - timedelta(days=80), MessageStatus.FAILED)),
    Put(message("msg_stuck", NOW - timedelta(days=60), MessageStatus.QUEUED)),
    Put(message("msg_recent", NOW - timedelta(days=3))),
    Put(message("msg_today", NOW, MessageStatus.FAILED)),
]


async def ids(ctx: Context, status: str | None = None, since: str | None = None) -> list[str]:
    return [m.id for m in await list_messages(ctx, ADMIN, status, since)]


async def test_the_last_30_days_and_what_is_not_sent_by_default(
    ctx: Context, store: Repository
) -> None:
    await seed(store, HISTORY)
    assert await ids(ctx) == ["msg_stuck", "msg_recent", "msg_today"]
    assert await ids(ctx, "failed") == ["msg_today"]
    assert await ids(ctx, since="2026-08-01") == [
        "msg_old", "msg_old_failed", "msg_stuck", "msg_recent", "msg_today",
    ]  # fmt: skip
    assert await ids(ctx, "failed", "2026-08-01") == ["msg_old_failed", "msg_today"]
    lines = await store.audit.read(limit=100)
    read = [line["target"] for line in lines if line["action"] == "message.read"]
    assert read.count("msg_recent") == 2  # listed by default and since August
    assert read.count("msg_old") == 1  # since August only


async def test_a_message_the_outbox_moves_on_is_listed_once(
    ctx: Context, store: Repository
) -> None:
    """A message going from queued to sending and back (a sender's claims and retries)
    while staff list the outbox is in each listing once: never twice, never missing."""
    flipping = message("msg_flip", NOW, MessageStatus.QUEUED)
    await seed(store, [Put(flipping)])
    done = asyncio.Event()

    async def flip() -> None:
        status = MessageStatus.QUEUED
        while not done.is_set():
            status = (
                MessageStatus.SENDING if status is MessageStatus.QUEUED else MessageStatus.QUEUED
            )
            await seed(store, [Put(msgspec.structs.replace(flipping, status=status))])

    flipper = asyncio.create_task(flip())
    try:
        for _ in range(100):
            listed = await ids(ctx)
            assert listed.count("msg_flip") == 1, listed
    finally:
        done.set()
        await flipper


async def test_a_bad_day_or_a_clinician_is_refused(ctx: Context, store: Repository) -> None:
    await seed(store, HISTORY)
    with pytest.raises(InvalidInput, match="since is not a date"):
        await ids(ctx, since="last week")
    with pytest.raises(InvalidInput, match="status must be"):
        await ids(ctx, "lost")
    with pytest.raises(Forbidden):
        await list_messages(ctx, Actor(kind="staff", id="stf_doc", role=Role.CLINICIAN))


async def test_the_default_listing_reads_no_month_on_disk(tmp_path: Path) -> None:
    data_dir = init_data_dir(tmp_path / "practice")
    first = TinyStore(data_dir, clock=lambda: NOW)
    await first.open()
    await seed(first, [*SEED, *HISTORY])
    await first.close()
    store = TinyStore(data_dir, clock=lambda: NOW)
    await store.open()
    await store.warmed()
    # September holds a message still queued: it stays in memory, as this month does.
    assert store.months_on_disk("messages") == ["2026-08"]
    assert "2026-09" in store._parts["messages"]
    # August holds only messages sent or failed long before: with its file moved away
    # the default listing still answers.
    august = data_dir / "db" / "messages" / "2026-08.json"
    aside = tmp_path / "2026-08.json"
    shutil.move(august, aside)
    try:
        ctx = Context(store=store, audit=store.audit, events=RecordingEvents(), clock=lambda: NOW)
        assert await ids(ctx) == ["msg_stuck", "msg_recent", "msg_today"]
        with pytest.raises(FileNotFoundError):
            await ids(ctx, since="2026-08-01")
    finally:
        shutil.move(aside, august)
        await store.close()
