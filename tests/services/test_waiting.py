"""The live rooms' grace period, with an injected clock and timer (no sleeping)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import msgspec
import pytest

from tests.seeding import audited_when
from tlh.domain.audience import Viewer
from tlh.domain.links import Channel, JoinLink, LinkPurpose, ParticipantKind
from tlh.domain.models import Role
from tlh.domain.rooms import EntryState, RoomEntry
from tlh.services.callhub import CallHub
from tlh.services.context import Context
from tlh.services.frame_outbox import Outbox
from tlh.services.waiting import Connection, Rooms, clean_display_name
from tlh.store.base import Repository

from .conftest import ADMIN, NOW, RecordingEvents


@dataclass
class Handle:
    delay: float
    callback: Callable[[], None]
    cancelled: bool = False

    def cancel(self) -> None:
        self.cancelled = True


@dataclass
class FakeTimer:
    handles: list[Handle] = field(default_factory=list)

    def __call__(self, delay: float, callback: Callable[[], None]) -> Handle:
        handle = Handle(delay, callback)
        self.handles.append(handle)
        return handle

    def pending(self) -> list[Handle]:
        return [h for h in self.handles if not h.cancelled]


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> Any:
        return self.now


LINK = JoinLink(
    id="lnk_1",
    token_hash="x",
    purpose=LinkPurpose.JOIN,
    participant=ParticipantKind.GUEST,
    clinician_id="stf_doc",
    channel=Channel.GUEST,
    created_at=NOW,
    created_by="stf_doc",
    valid_from=NOW,
    valid_until=NOW + timedelta(hours=8),
)


@pytest.fixture
async def setup(store: Repository) -> Any:
    clock, timer = Clock(), FakeTimer()
    ctx = Context(store=store, audit=store.audit, events=RecordingEvents(), clock=clock)
    hub = CallHub()
    rooms = Rooms(ctx, hub, grace_s=60, timer=timer)
    yield rooms, clock, timer, ctx
    await rooms.close()
    await hub.close()


def connection() -> Connection:
    async def close() -> None:
        return None

    return Connection(outbox=Outbox(lambda frame: None), close=close)


async def _gone_offline(rooms: Rooms) -> RoomEntry:
    """A guest says hello and their socket closes: the entry, holding its place."""
    conn = connection()
    entry = await rooms.participants.hello(LINK, "dev_1", conn)
    await rooms.participants.connection_closed(conn)
    return entry


async def _settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)  # lets the expiry task the timer created run


async def test_offline_entry_expires_after_grace(setup: Any) -> None:
    rooms, clock, timer, ctx = setup
    entry = await _gone_offline(rooms)
    [handle] = timer.pending()
    assert handle.delay == 60
    clock.now += timedelta(seconds=60)
    handle.callback()
    await _settle()
    assert rooms.state.get(entry.id) is None
    assert ("room.left", {**_ids(entry), "reason": "expired"}) in ctx.events.published
    assert ("system", "room.expire", entry.id) in await audited_when(
        ctx, ("system", "room.expire", entry.id)
    )


async def test_an_entry_leaving_the_shared_queue_is_taken_off_every_dashboard(
    setup: Any,
) -> None:
    rooms, _, _, ctx = setup
    queued = msgspec.structs.replace(LINK, id="lnk_queue", clinician_id=None)
    entry = await rooms.participants.hello(queued, "dev_1", connection(), display_name="Sam")
    await rooms.staff.transfer(ADMIN, entry.id, "stf_doc")
    assert ctx.events.published[-1][0] == "room.transferred"
    audience, shown = ctx.events.sent_to[-1]
    doc, other = Viewer("stf_doc", Role.CLINICIAN), Viewer("stf_other", Role.CLINICIAN)
    # Everyone saw the queue, so everyone hears it left; only its new room sees who.
    assert (audience.admits(doc), audience.admits(other)) == (True, True)
    assert shown is not None
    assert shown.value["label"] == "Sam"
    assert (shown.audience.admits(doc), shown.audience.admits(other)) == (True, False)


async def test_reconnect_within_grace_cancels_expiry(setup: Any) -> None:
    rooms, clock, timer, _ = setup
    entry = await _gone_offline(rooms)
    clock.now += timedelta(seconds=59)
    again = await rooms.participants.hello(LINK, "dev_1", connection())
    assert again.id == entry.id
    assert again.reconnects == 1
    assert again.online
    assert timer.pending() == []


async def test_an_early_timer_reschedules_the_rest(setup: Any) -> None:
    rooms, clock, timer, _ = setup
    entry = await _gone_offline(rooms)
    clock.now += timedelta(seconds=45)
    timer.pending()[0].callback()
    await _settle()
    assert rooms.state.entry(entry.id).state is EntryState.WAITING
    assert timer.handles[-1].delay == pytest.approx(15)


def test_display_names_are_cleaned() -> None:
    assert clean_display_name("Sam\x00\x1b[31m  Guest\n") == "Sam[31m Guest"
    assert len(clean_display_name("x" * 500)) == 80
    assert clean_display_name(42) == ""


def _ids(entry: Any) -> dict[str, Any]:
    return {
        "entry_id": entry.id,
        "clinician_id": entry.clinician_id,
        "appointment_id": entry.appointment_id,
    }
