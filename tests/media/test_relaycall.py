"""A relayed segment's server side (tlh.media.relaycall) with real aiortc peers on loopback.

Each "page" is a headless ``PeerLink`` per virtual peer, exactly as the headless
participant holds them: ``relay`` (its upload) and ``relay:X`` (X's media). Signals go
through the call's own entry points, as the signalling hub passes them on. The call
must carry every participant's media to every other, decode nothing itself, and close
what a leaving participant leaves behind.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tlh.media import aiortc_private
from tlh.media.ice import configuration
from tlh.media.peer import PeerLink
from tlh.media.relaycall import RelayCall

SMALL = (160, 120)


class Pages:
    """Participants' links, keyed (participant, virtual peer), wired to one RelayCall."""

    def __init__(self) -> None:
        self.changed = asyncio.Event()
        self.links: dict[tuple[str, str], PeerLink] = {}
        self.call = RelayCall(self._from_server, loopback=True)
        self._tasks: set[asyncio.Task[None]] = set()

    def link(self, who: str, peer: str) -> PeerLink:
        async def send(frame: dict[str, Any]) -> None:
            source = None if frame["to"] == "relay" else frame["to"].removeprefix("relay:")
            self.call.signal(who, source, frame["data"])

        made = PeerLink(
            peer,
            config=configuration(),
            loopback=True,
            send=send,
            changed=self.changed.set,
            video_size=SMALL,
            kind="relay" if peer == "relay" else "client",
        )
        self.links[(who, peer)] = made
        return made

    async def join(self, who: str) -> None:
        """As after ``admitted``: the call adds ``who``, who offers to every virtual peer."""
        others = sorted({p for p, _ in self.links} - {who})
        self.call.add(who, offer_to=others)
        await self.link(who, "relay").offer()
        for other in others:
            await self.link(who, f"relay:{other}").offer()

    def _from_server(self, who: str, source: str | None, data: dict[str, Any]) -> None:
        peer = "relay" if source is None else f"relay:{source}"
        task = asyncio.get_running_loop().create_task(self._deliver(who, peer, data))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _deliver(self, who: str, peer: str, data: dict[str, Any]) -> None:
        description = data.get("description")
        if description is None:
            return
        link = self.links.get((who, peer))
        if link is None:  # the server offers: like a page told "peer.joined"
            link = self.link(who, peer)
        await link.description(description)

    async def frames_from_everyone(self, within: float) -> None:
        """Every participant decodes audio and video from every other one."""

        def enough() -> bool:
            downloads = [link for (_, peer), link in self.links.items() if peer != "relay"]
            people = {who for who, _ in self.links}
            return len(downloads) == len(people) * (len(people) - 1) and all(
                link.frames_received.get(kind, 0) >= 3
                for link in downloads
                for kind in ("audio", "video")
            )

        async with asyncio.timeout(within):
            while not enough():
                self.changed.clear()
                await self.changed.wait()

    async def drop(self, who: str) -> None:
        for key in [k for k in self.links if who in (k[0], k[1].removeprefix("relay:"))]:
            await self.links.pop(key).close()

    async def close(self) -> None:
        for link in self.links.values():
            await link.close()
        await self.call.close()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=5)


@pytest.fixture
async def pages() -> AsyncIterator[Pages]:
    made = Pages()
    try:
        yield made
    finally:
        await made.close()


async def test_three_participants_each_get_the_others_without_the_server_decoding(
    pages: Pages,
) -> None:
    with aiortc_private.watch_decoders() as creators:
        for who in ("a", "b", "c"):
            await pages.join(who)
        await pages.frames_from_everyone(within=30)
        server_pcs = list(pages.call.connections().values())
        assert len(server_pcs) == 3 + 3 * 2  # one upload each, a download per other
        server_threads = {
            aiortc_private.decoder_thread(t.receiver)
            for pc in server_pcs
            for t in pc.getTransceivers()
        }
    assert creators, "the pages decode: the watch must have seen them"
    assert not creators & server_threads
    for who in ("a", "b", "c"):
        relay = pages.call.relay_of(who)
        assert relay is not None
        assert relay.frames_in["video"] > 0
        assert relay.frames_in["audio"] > 0
        assert len(relay.subscribers) == 2


async def test_a_participant_leaving_closes_its_connections_and_the_others_copies(
    pages: Pages,
) -> None:
    for who in ("a", "b", "c"):
        await pages.join(who)
    await pages.frames_from_everyone(within=30)
    leaving = pages.call.relay_of("c")
    assert leaving is not None
    gone = [pc for key, pc in pages.call.connections().items() if "c" in key]
    assert len(gone) == 1 + 2 + 2  # its upload, its two downloads, the others' copies
    assert set(gone) == {leaving.publisher, *leaving.subscribers} | {
        pages.call.connections()[("c", other)] for other in ("a", "b")
    }
    closed = asyncio.Event()
    for pc in gone:
        pc.on("connectionstatechange", closed.set)

    pages.call.remove("c")
    await pages.drop("c")
    async with asyncio.timeout(5):  # close_peer runs on the call's own task
        while any(pc.connectionState != "closed" for pc in gone):
            closed.clear()
            await closed.wait()
    assert pages.call.participants == ["a", "b"]
    assert len(pages.call.connections()) == 2 + 2
    kept = pages.call.relay_of("a")
    assert kept is not None
    assert len(kept.subscribers) == 1


async def test_closing_the_call_closes_every_connection(pages: Pages) -> None:
    for who in ("a", "b"):
        await pages.join(who)
    await pages.frames_from_everyone(within=20)
    opened = list(pages.call.connections().values())
    await pages.call.close()
    assert all(pc.connectionState == "closed" for pc in opened)
    pages.call.add("late", offer_to=[])
    assert pages.call.participants == []


async def test_signals_for_strangers_or_bad_descriptions_change_nothing(pages: Pages) -> None:
    pages.call.signal("nobody", None, {"description": {"type": "offer", "sdp": "x"}})
    pages.call.add("a", offer_to=[])
    pages.call.signal("a", "nobody", {"description": {"type": "offer", "sdp": "x"}})
    pages.call.signal("a", None, "not a dict")
    pages.call.signal("a", None, {"description": {"type": "offer", "sdp": "v=0 broken"}})
    await pages.join("b")  # the bad offer spoilt nothing: a real one still connects
    link = pages.links[("b", "relay")]
    async with asyncio.timeout(10):
        while link.state != "connected":
            pages.changed.clear()
            await pages.changed.wait()
