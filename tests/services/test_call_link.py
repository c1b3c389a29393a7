"""Signalling between the peers of one call on different servers (``CallLink``): two
servers' ``CallHub`` on one real PostgreSQL, the client's socket on A, the clinician's
call page on B."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from functools import partial

import msgspec
import pytest

from tlh.api.frames import Admitted, PeerJoined, PeerLeft, ServerFrame, Signalled
from tlh.media.relaycall import RelayCall
from tlh.services.call_link import CallLink
from tlh.services.callhub import CallHub
from tlh.store.pg.notify import PgChannel

SEG = "seg_1"
#: An SDP offer's size: past NOTIFY's 8000 bytes, so through the channel's spill.
OFFER = {"type": "offer", "sdp": "v=0\r\n" + "a=candidate:1 1 udp 1 10.0.0.1 9 typ host\r\n" * 400}


def as_sent(data: dict[str, str]) -> msgspec.Raw:
    """A signal's payload as the server holds it: the page's JSON, never decoded."""
    return msgspec.Raw(msgspec.json.encode(data))


@dataclass
class Socket:
    frames: list[ServerFrame] = field(default_factory=list)

    def __call__(self, frame: ServerFrame) -> None:
        self.frames.append(frame)

    def of(self, kind: type) -> list[ServerFrame]:
        return [f for f in self.frames if isinstance(f, kind)]


async def until(check: Callable[[], object], within: float = 10.0) -> None:
    async with asyncio.timeout(within):
        while not check():
            await asyncio.sleep(0.01)


@pytest.fixture
async def hubs(pg_url: str) -> AsyncIterator[tuple[list[CallHub], list[PgChannel]]]:
    channels = [PgChannel(pg_url, server_id=n) for n in ("sa", "sb")]
    made = [CallHub(), CallHub()]
    for channel, hub in zip(channels, made, strict=True):
        await channel.open()
        CallLink(channel, hub).start()
    try:
        yield made, channels
    finally:
        for hub in made:
            await hub.close()
        for channel in channels:
            await channel.close()


async def test_offer_and_answer_pass_between_a_client_on_a_and_a_clinician_on_b(
    hubs: tuple[list[CallHub], list[PgChannel]],
) -> None:
    (a, b), _ = hubs
    doc, client = Socket(), Socket()
    assert b.join(SEG, "stf_doc", "Dr Doc", "staff", doc) == []
    await until(lambda: a.has(SEG, "stf_doc"))
    others = a.join(SEG, "ent_1", "Guest", "guest", client)
    assert [p.peer_id for p in others] == ["stf_doc"]  # the client offers to the clinician
    await until(lambda: doc.of(PeerJoined))

    a.relay(SEG, "ent_1", "stf_doc", as_sent(OFFER))
    await until(lambda: doc.of(Signalled))
    [got] = doc.of(Signalled)
    assert isinstance(got, Signalled)
    assert got.from_ == "ent_1"
    assert bytes(got.data) == bytes(as_sent(OFFER))  # passed on as the JSON it came
    b.relay(SEG, "stf_doc", "ent_1", as_sent({"type": "answer", "sdp": "v=0"}))
    await until(lambda: client.of(Signalled))
    [answer] = client.of(Signalled)
    assert isinstance(answer, Signalled)
    assert answer.from_ == "stf_doc"

    a.leave(SEG, "ent_1")
    await until(lambda: doc.of(PeerLeft))
    # Each heard of the other once: membership frames are each server's own.
    assert len(doc.of(PeerJoined)) == 1
    assert len(doc.of(PeerLeft)) == 1
    assert not b.has(SEG, "ent_1")


async def test_a_client_whose_server_died_rejoins_on_b_and_re_offers_without_admission(
    hubs: tuple[list[CallHub], list[PgChannel]],
) -> None:
    (a, b), channels = hubs
    doc, client = Socket(), Socket()
    b.join(SEG, "stf_doc", "Dr Doc", "staff", doc)
    await until(lambda: a.has(SEG, "stf_doc"))
    a.join(SEG, "ent_1", "Guest", "guest", client)
    await until(lambda: b.has(SEG, "ent_1"))
    await channels[0].close()  # A is gone

    again = Socket()
    others = b.join(SEG, "ent_1", "Guest", "guest", again, resumed=True)
    assert [p.peer_id for p in others] == ["stf_doc"]  # it offers again (ICE restart)
    await until(lambda: any(isinstance(f, PeerJoined) and f.resumed for f in doc.frames))
    b.relay(SEG, "ent_1", "stf_doc", as_sent(OFFER))
    await until(
        lambda: any(isinstance(f, Signalled) and f.data == as_sent(OFFER) for f in doc.frames)
    )
    rejoined = [f for f in doc.of(PeerJoined) if isinstance(f, PeerJoined) and f.resumed]
    assert len(rejoined) == 1


async def test_two_servers_relaying_one_segment_at_once_keep_the_lower_id_s_relay(
    pg_url: str,
) -> None:
    """The practice relays always and a peer joins on each server in the same instant:
    both hubs make a relay call, then agree on one (server ``sa``'s) and the other's
    pages signal to it; their peers all hear fresh ``admitted`` frames for it."""
    relay = partial(RelayCall, loopback=True)
    channels = [PgChannel(pg_url, server_id=n) for n in ("sa", "sb")]
    a, b = (CallHub(relay=relay, relay_always=lambda: True) for _ in channels)
    for channel, hub in zip(channels, (a, b), strict=True):
        await channel.open()
        CallLink(channel, hub).start()
    try:
        client, doc = Socket(), Socket()
        a.join(SEG, "ent_1", "Guest", "guest", client)
        b.join(SEG, "stf_doc", "Dr Doc", "staff", doc)  # before either heard the other
        assert isinstance(a.relay_of(SEG), RelayCall)
        assert isinstance(b.relay_of(SEG), RelayCall)

        await until(lambda: not isinstance(b.relay_of(SEG), RelayCall))
        await until(lambda: a.has(SEG, "stf_doc") and b.has(SEG, "ent_1"))
        assert isinstance(a.relay_of(SEG), RelayCall)  # the lower id's is kept
        assert b.relayed(SEG)  # through a's
        # B's page turned to the kept relay: a fresh admission listing a's virtual peers.
        [*_, again] = doc.of(Admitted)
        assert isinstance(again, Admitted)
        assert [p.peer_id for p in again.peers] == ["relay", "relay:ent_1"]
    finally:
        for hub in (a, b):
            await hub.close()
        for channel in channels:
            await channel.close()


async def test_a_segment_whose_relaying_server_died_is_relayed_by_the_one_left(
    pg_url: str,
) -> None:
    """Server ``sa`` relays the call and dies: ``sb``, told it is gone (as the server
    adopting its entries is), relays it with its own relay call, and its page offers anew."""
    relay = partial(RelayCall, loopback=True)
    channels = [PgChannel(pg_url, server_id=n) for n in ("sa", "sb")]
    a, b = (CallHub(relay=relay, relay_always=lambda: True) for _ in channels)
    links = [CallLink(channel, hub) for channel, hub in zip(channels, (a, b), strict=True)]
    for channel, link in zip(channels, links, strict=True):
        await channel.open()
        link.start()
    try:
        client, doc = Socket(), Socket()
        a.join(SEG, "ent_1", "Guest", "guest", client)
        await until(lambda: b.relayed(SEG) and b.has(SEG, "ent_1"))
        b.join(SEG, "stf_doc", "Dr Doc", "staff", doc)
        assert not isinstance(b.relay_of(SEG), RelayCall)  # a's relays it
        await a.close()
        await channels[0].close()

        links[1].server_gone("sa")

        assert isinstance(b.relay_of(SEG), RelayCall)
        [*_, again] = doc.of(Admitted)
        assert isinstance(again, Admitted)
        assert [p.peer_id for p in again.peers] == ["relay", "relay:ent_1"]
    finally:
        await b.close()
        await channels[1].close()
