"""The signalling relay: joins, leaves, relays, the mesh limit and slow sockets."""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec
import pytest

from tlh.api.frames import ServerFrame
from tlh.errors import NotFound
from tlh.services.callhub import CallHub, SessionFull
from tlh.services.frame_outbox import QUEUE_LIMIT


class Inbox:
    """A peer's received frames, awaited with a timeout (never a sleep)."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    def send(self, frame: ServerFrame) -> None:
        self.queue.put_nowait(msgspec.to_builtins(frame))  # as the websocket would carry it

    async def next(self) -> dict[str, Any]:
        return await asyncio.wait_for(self.queue.get(), 2)

    async def quiet(self) -> bool:
        """True if nothing more arrives once pending sends have run."""
        for _ in range(5):
            await asyncio.sleep(0)  # lets pumps run; not a timing wait
        return self.queue.empty()


@pytest.fixture
async def hub() -> Any:
    made = CallHub()
    yield made
    await made.close()


async def test_join_returns_others_and_tells_them(hub: CallHub) -> None:
    a, b = Inbox(), Inbox()
    assert hub.join("ses_1", "stf_1", "Dr A", "staff", a.send) == []
    others = hub.join("ses_1", "ent_1", "Client", "client", b.send)
    assert [p.peer_id for p in others] == ["stf_1"]
    assert await a.next() == {
        "type": "peer.joined",
        "peer_id": "ent_1",
        "label": "Client",
        "kind": "client",
    }
    assert await b.quiet()
    assert hub.count("ses_1") == 2


async def test_relay_reaches_only_the_target(hub: CallHub) -> None:
    a, b, c = Inbox(), Inbox(), Inbox()
    hub.join("ses_1", "p1", "1", "staff", a.send)
    hub.join("ses_1", "p2", "2", "client", b.send)
    hub.join("ses_1", "p3", "3", "guest", c.send)
    await a.next(), await a.next(), await b.next()
    hub.relay("ses_1", "p3", "p1", {"description": {"type": "offer", "sdp": "x"}})
    assert await a.next() == {
        "type": "signal",
        "from": "p3",
        "data": {"description": {"type": "offer", "sdp": "x"}},
    }
    assert await b.quiet()


async def test_relay_to_a_peer_of_another_segment_is_refused(hub: CallHub) -> None:
    a, b = Inbox(), Inbox()
    hub.join("ses_1", "p1", "1", "staff", a.send)
    hub.join("ses_2", "p2", "2", "client", b.send)
    with pytest.raises(NotFound):
        hub.relay("ses_1", "p1", "p2", {})
    with pytest.raises(NotFound):
        hub.relay("ses_1", "p9", "p1", {})
    assert await b.quiet()


async def test_leave_tells_others(hub: CallHub) -> None:
    a, b = Inbox(), Inbox()
    hub.join("ses_1", "p1", "1", "staff", a.send)
    hub.join("ses_1", "p2", "2", "client", b.send)
    await a.next()
    assert hub.leave("ses_1", "p2")
    assert await a.next() == {"type": "peer.left", "peer_id": "p2"}
    assert not hub.leave("ses_1", "p2")
    assert [p.peer_id for p in hub.peers("ses_1")] == ["p1"]


async def test_rejoin_replaces_the_old_connection(hub: CallHub) -> None:
    a, old, new = Inbox(), Inbox(), Inbox()
    hub.join("ses_1", "p1", "1", "staff", a.send)
    hub.join("ses_1", "p2", "2", "client", old.send)
    others = hub.join("ses_1", "p2", "2", "client", new.send)
    assert [p.peer_id for p in others] == ["p1"]
    assert hub.count("ses_1") == 2
    # The stale socket closing later must not take its successor out.
    assert not hub.leave("ses_1", "p2", old.send)
    hub.relay("ses_1", "p1", "p2", {"candidate": None})
    assert (await new.next())["type"] == "signal"
    assert await old.quiet()


async def test_mesh_limit(hub: CallHub) -> None:
    for n in range(4):
        hub.join("ses_1", f"p{n}", str(n), "guest", Inbox().send)
    with pytest.raises(SessionFull) as err:
        hub.join("ses_1", "p5", "5", "guest", Inbox().send)
    assert err.value.code == "session_full"
    # A reload of someone already in is not a fifth participant.
    hub.join("ses_1", "p0", "0", "guest", Inbox().send)
    assert hub.count("ses_1") == 4


async def test_end_tells_everyone_and_forgets(hub: CallHub) -> None:
    a, b = Inbox(), Inbox()
    hub.join("ses_1", "p1", "1", "staff", a.send)
    hub.join("ses_1", "p2", "2", "client", b.send)
    await a.next()
    assert sorted(hub.end("ses_1")) == ["p1", "p2"]
    assert await a.next() == {"type": "ended"}
    assert await b.next() == {"type": "ended"}
    assert hub.count("ses_1") == 0


async def test_a_slow_socket_does_not_block_the_others(hub: CallHub) -> None:
    gate = asyncio.Event()
    fast = Inbox()

    async def stuck(frame: dict[str, Any]) -> None:
        await gate.wait()

    hub.join("ses_1", "slow", "s", "client", stuck)
    hub.join("ses_1", "fast", "f", "staff", fast.send)
    hub.join("ses_1", "third", "t", "guest", Inbox().send)
    await fast.next()  # third joined
    for n in range(QUEUE_LIMIT + 5):
        if hub.has("ses_1", "slow"):
            hub.relay("ses_1", "third", "slow", {"n": n})
        hub.relay("ses_1", "third", "fast", {"n": n})
        # The fast peer keeps reading while the slow one never does.
        frame = await fast.next()
        if frame["type"] == "peer.left":
            assert frame["peer_id"] == "slow"
            frame = await fast.next()
        assert frame["data"] == {"n": n}
    # The stuck peer was dropped once its queue filled; the others heard it left.
    assert not hub.has("ses_1", "slow")
    assert hub.count("ses_1") == 2
    gate.set()


async def test_send_errors_do_not_stop_the_pump(hub: CallHub) -> None:
    got: list[dict[str, Any]] = []
    done = asyncio.Event()

    def flaky(frame: ServerFrame) -> None:
        got.append(msgspec.to_builtins(frame))
        if len(got) == 1:
            raise ConnectionResetError
        done.set()

    hub.join("ses_1", "p1", "1", "staff", flaky)
    hub.join("ses_1", "p2", "2", "client", Inbox().send)
    hub.relay("ses_1", "p2", "p1", {"n": 1})
    await asyncio.wait_for(done.wait(), 2)
    assert [f["type"] for f in got] == ["peer.joined", "signal"]
