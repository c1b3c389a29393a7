"""A burst of room events to a staff socket: the reads it shows are audited in one write,
and each event is encoded once for every socket that receives it."""

from __future__ import annotations

import asyncio
import gc
import json

import aiohttp

from tlh.domain import audience
from tlh.domain.audience import Shown, Viewer
from tlh.domain.models import Role
from tlh.server.keys import AUDIT, BUS
from tlh.services.events import Event, EventBus

from .conftest import Practice

BURST = 200
#: The server's own subscribers (outbox, hooks, idle sessions, rooms), one event each.
FOLLOWERS = 4


async def _frames(
    ws: aiohttp.ClientWebSocketResponse, kind: str, n: int
) -> list[dict[str, object]]:
    got: list[dict[str, object]] = []
    async with asyncio.timeout(10):
        while len(got) < n:
            msg = await ws.receive()
            assert msg.type == aiohttp.WSMsgType.TEXT, msg
            frame = json.loads(msg.data)
            if frame["type"] == kind:
                got.append(frame)
    return got


def _publish(bus: EventBus, n: int) -> list[str]:
    """``n`` room events, each showing one client, published in one turn of the loop."""
    clients = [f"cli_burst{k:04d}" for k in range(n)]
    for k, client in enumerate(clients):
        shown = Shown(
            key="entry",
            value={"id": f"ent_burst{k:04d}"},
            audience=audience.EDITORS,
            client_ids=(client,),
        )
        bus.publish("room.joined", {"entry_id": f"ent_burst{k:04d}"}, audience.EDITORS, shown)
    return clients


async def test_a_burst_of_room_events_is_audited_in_one_write(practice: Practice) -> None:
    app = practice.client.server.app
    async with practice.client.ws_connect("/api/v1/events", headers=practice.auth()) as ws:
        await _frames(ws, "events.ready", 1)
        log = app[AUDIT]
        await log.barrier()
        before = log.batches_written
        clients = _publish(app[BUS], BURST)
        frames = await _frames(ws, "room.joined", BURST)
        assert [f["data"]["entry"]["id"] for f in frames] == [  # type: ignore[index]
            f"ent_burst{k:04d}" for k in range(BURST)
        ]
        # Every delivery is still a read on the record, in one fsynced batch (the
        # socket's sender had one write under way at most when the burst came).
        assert log.batches_written - before <= 2
        entries = await log.read()
        read = {e["target"] for e in entries if e["action"] == "client.read"}
        assert set(clients) <= read


def test_an_event_is_encoded_once_for_every_socket_it_reaches() -> None:
    bus = EventBus()
    subs = [bus.subscribe(viewer=Viewer(f"stf_{k}", Role.ADMIN)) for k in range(3)]
    _publish(bus, 1)
    events = [sub.queue.get_nowait() for sub in subs]
    wires = [e.wire(sub.viewer) for e, sub in zip(events, subs, strict=True)]  # type: ignore[arg-type]
    assert all(text is wires[0][0] for text, _ in wires)
    assert json.loads(wires[0][0])["data"]["entry"] == {"id": "ent_burst0000"}


def _held_burst_events() -> int:
    gc.collect()
    return sum(
        1
        for o in gc.get_objects()
        if isinstance(o, Event) and str(o.data.get("entry_id", "")).startswith("ent_burst")
    )


async def test_a_sent_burst_is_not_kept_while_the_socket_waits(practice: Practice) -> None:
    """Memory per waiting socket: the sender must not hold the last burst (its frames and
    views) until the next event comes, which in a quiet room may be hours. (A follower
    on the server keeps the last event it handled: a few, not a burst.)"""
    app = practice.client.server.app
    async with practice.client.ws_connect("/api/v1/events", headers=practice.auth()) as ws:
        await _frames(ws, "events.ready", 1)
        _publish(app[BUS], BURST)
        await _frames(ws, "room.joined", BURST)
        async with asyncio.timeout(5):
            while _held_burst_events() > FOLLOWERS:
                await asyncio.sleep(0.02)  # the server-side followers finish their queues
