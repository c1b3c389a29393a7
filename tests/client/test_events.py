"""``EventStream`` against a real server: events and connection changes in order, a
restart ridden out, a newer dashboard or a refused token ending it, and cancellation
winning over a retry."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from itertools import islice

import pytest

from tests.tui.conftest import Practice
from tlh.client import TlhClient
from tlh.client.events import (
    Backoff,
    Connected,
    EventStream,
    Item,
    Reconnecting,
    SignedOut,
    StaffEvent,
    Superseded,
)
from tlh.client.websocket import WebSocket
from tlh.errors import Unavailable

WAIT_S = 10.0


async def next_item(items: AsyncIterator[Item]) -> Item:
    return await asyncio.wait_for(anext(items), WAIT_S)


async def until_event(items: AsyncIterator[Item], kind: str) -> StaffEvent:
    async with asyncio.timeout(WAIT_S):
        async for item in items:
            if isinstance(item, StaffEvent) and item.type == kind:
                return item
    raise AssertionError("the stream ended")


def test_backoff_doubles_from_a_short_first_retry_up_to_its_cap() -> None:
    assert list(islice(Backoff().delays(), 6)) == [0.25, 0.5, 1.0, 2.0, 2.0, 2.0]
    assert list(islice(Backoff(0.5, 30.0).delays(), 3)) == [0.5, 1.0, 2.0]


async def test_connected_then_the_events(practice: Practice) -> None:
    async with practice.admin() as admin, admin.events() as stream:
        items = aiter(stream)
        assert await next_item(items) == Connected()
        await admin.practice.update(late_after_min=12)
        event = await until_event(items, "practice.updated")
        assert event.data == {"fields": ["late_after_min"]}


async def test_a_restart_is_ridden_out_and_retry_now_cuts_the_wait(practice: Practice) -> None:
    """Lost, told why and when the next try is; back (Connected) soon after the server."""
    async with practice.clinician() as client, client.events(backoff=Backoff(30.0, 30.0)) as stream:
        items = aiter(stream)
        assert await next_item(items) == Connected()
        await practice.server.stop()
        lost = await next_item(items)
        assert isinstance(lost, Reconnecting)
        assert (lost.retry_in, lost.attempt) == (30.0, 1)
        await practice.server.start()
        started = time.monotonic()
        stream.retry_now()  # or it would wait the whole 30 s
        assert await next_item(items) == Connected()
        assert time.monotonic() - started < 5.0


async def test_unreachable_says_why_and_when(practice: Practice) -> None:
    await practice.server.stop()
    async with practice.clinician() as client, client.events() as stream:
        items = aiter(stream)
        tries = [await next_item(items) for _ in range(3)]
    assert [(t.retry_in, t.attempt) for t in tries] == [(0.25, 1), (0.5, 2), (1.0, 3)]  # type: ignore[union-attr]
    reason = tries[0].reason  # type: ignore[union-attr]
    assert reason == f"cannot reach the tlh server at {practice.url}: connection refused"


async def test_a_newer_dashboard_supersedes_the_stream(practice: Practice) -> None:
    async with (
        practice.clinician() as first_client,
        practice.clinician() as second_client,
        first_client.events(dashboard=True) as first,
        second_client.events(dashboard=True) as second,
    ):
        older = aiter(first)
        assert await next_item(older) == Connected()
        assert await next_item(aiter(second)) == Connected()
        assert await next_item(older) == Superseded()
        with pytest.raises(StopAsyncIteration):
            await next_item(older)


async def test_a_refused_token_signs_out(practice: Practice) -> None:
    async with TlhClient(practice.url, "tlh_not_a_real_token") as client, client.events() as stream:
        items = aiter(stream)
        signed_out = await next_item(items)
        assert isinstance(signed_out, SignedOut)
        assert "token" in signed_out.reason
        with pytest.raises(StopAsyncIteration):
            await next_item(items)


async def test_drop_reconnects_and_connects_again(practice: Practice) -> None:
    """A reader whose resync failed asks for a new connection: told, then live again."""
    async with practice.clinician() as client, client.events() as stream:
        items = aiter(stream)
        assert await next_item(items) == Connected()
        stream.drop("the rooms could not be fetched")
        await client.staff.update_me(name="Dr Lee")  # an event, so the stream moves on
        lost = await next_item(items)
        assert lost == Reconnecting("the rooms could not be fetched", 0.25, 1)
        assert await next_item(items) == Connected()


async def test_a_cancel_turned_into_a_timeout_still_cancels() -> None:
    """A network wait that answers a cancel with a timeout (aiohttp's own timeout firing
    together with the cancel did) must not be taken for a dropped connection: the
    reader's task ends, and no second attempt is made."""
    attempts = 0
    waiting = asyncio.Event()

    async def stubborn() -> WebSocket:
        nonlocal attempts
        attempts += 1
        waiting.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            raise Unavailable("cannot reach the tlh server: no answer within 30 s") from None
        raise AssertionError("never answered")

    async def read() -> None:
        async with EventStream(stubborn) as stream:
            async for _ in stream:
                pass

    reader = asyncio.create_task(read())
    await asyncio.wait_for(waiting.wait(), WAIT_S)
    reader.cancel()
    done, _ = await asyncio.wait({reader}, timeout=WAIT_S)
    assert done, "the reader kept retrying after it was cancelled"
    assert reader.cancelled()
    assert attempts == 1
