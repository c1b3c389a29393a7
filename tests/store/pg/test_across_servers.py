"""A client and their clinician on different servers, working together.

Two real ``tlh serve`` on one PostgreSQL behind HAProxy; each side talks to one server
by its own URL, so the client's page is on A and the clinician on B for certain. The
clinician sees the client arrive (event and rooms on B), writes to them, lets them in,
and the two signal to each other through the servers' channel; a real call between
two headless aiortc participants connects across them; two servers admitting one
entry at once admit it once. A call relayed through one server's relay call connects
across them too. Every wait is bounded.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import psycopg
import pytest

from tests.server.call_helpers import next_frame
from tests.server.test_relay_calls import blocked_direct
from tests.store.pg.failover import (
    Pair,
    guest_link,
    new_guest,
    pair_behind_haproxy,
    waiting_people,
)
from tests.store.pg.practice import call
from tlh.media.participant import Participant
from tlh.store.pg.notify_text import NOTIFY_LIMIT

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def pair(tmp_path: Path, pg_url: str) -> Iterator[Pair]:
    """Two servers behind HAProxy; after the test, neither logged a traceback (the
    logs are read once both have stopped, so their shutdown counts too)."""
    with pair_behind_haproxy(tmp_path, pg_url) as made:
        yield made
    for log in made.logs:
        assert "Traceback" not in log.read_text()


def servers(pair: Pair) -> tuple[str, str]:
    """The two servers' own URLs (A, B), not the balancer's."""
    a, b = pair.procs
    return a, b


async def staff_socket(
    session: aiohttp.ClientSession, url: str, path: str, token: str
) -> aiohttp.ClientWebSocketResponse:
    """A staff socket (events or call) as the CLI and dashboard open it: Bearer, no Origin."""
    return await session.ws_connect(url + path, headers={"Authorization": f"Bearer {token}"})


def offer_of(size: int) -> dict[str, Any]:
    """A signal's ``data`` the size of a real offer (``size`` bytes of JSON), each line
    different so that nothing on the way could shorten it unnoticed."""
    lines = ["v=0", "o=- 0 0 IN IP4 127.0.0.1", "s=-", "t=0 0"]
    while len(json.dumps({"description": {"type": "offer", "sdp": "\r\n".join(lines)}})) < size:
        lines.append(f"a=candidate:{len(lines)} 1 udp 2130706431 127.0.0.1 {secrets.token_hex(8)}")
    return {"description": {"type": "offer", "sdp": "\r\n".join(lines) + "\r\n"}}


async def last_spill(pg_url: str) -> int:
    """The id of the last payload the servers' channel spilled past NOTIFY into the
    database (0: none yet); ids only grow, whatever the sweep has taken since."""

    def read() -> int:
        with psycopg.connect(pg_url) as db:
            row = db.execute("SELECT coalesce(max(id), 0) FROM tlh_notify_spill").fetchone()
        assert row is not None
        return int(row[0])

    return await asyncio.to_thread(read)


async def signalled(
    sender: aiohttp.ClientWebSocketResponse,
    receiver: aiohttp.ClientWebSocketResponse,
    to: str,
    data: dict[str, Any],
) -> dict[str, Any]:
    """Send a ``signal`` to peer ``to`` from one socket; the frame the other receives."""
    await sender.send_str(json.dumps({"type": "signal", "to": to, "data": data}))
    return await next_frame(receiver, "signal")


def test_a_page_on_one_server_and_its_clinician_on_the_other(pair: Pair, pg_url: str) -> None:
    """Arrival, a message, admission and signalling, each crossing from B to A or back."""
    asyncio.run(_page_on_a_clinician_on_b(pair, pg_url))


async def _page_on_a_clinician_on_b(pair: Pair, pg_url: str) -> None:
    a, b = servers(pair)
    async with aiohttp.ClientSession() as session:
        _, lee = await waiting_people(pair, session, 0)
        events = await staff_socket(session, b, "/api/v1/events", lee)
        await next_frame(events, "events.ready")
        page = await new_guest(pair, session, "dev_a")

        # 1. The page waits on A; the clinician's stream on B hears it, B's rooms list it.
        await page.hello(session, a)
        entry_id, place = page.status["entry_id"], page.status["position"]
        assert page.status["state"] == "waiting"
        joined = await next_frame(events, "room.joined")
        assert joined["data"]["entry_id"] == entry_id
        assert joined["data"]["entry"]["position"] == place
        status, rooms = await call(b, lee, "GET", "/api/v1/rooms")
        assert status == 200, rooms
        listed = {e["id"]: e for room in rooms["items"] for e in room["entries"]}
        assert listed[entry_id]["position"] == place
        assert listed[entry_id]["state"] == "waiting"

        # 2. A message written on B reaches the page on A.
        assert page.ws is not None
        said = "Running five minutes late, sorry."
        async with session.post(
            f"{b}/api/v1/rooms/entries/{entry_id}/message",
            json={"text": said},
            headers={"Authorization": f"Bearer {lee}"},
        ) as r:
            assert r.status == 204, await r.text()  # no body: not through call()
        assert (await next_frame(page.ws, "message"))["text"] == said

        # 3. A room session and the clinician's call socket on B; admitted from B.
        status, made = await call(b, lee, "POST", "/api/v1/sessions", {"room": True})
        assert status == 201, made
        staff = await staff_socket(session, b, "/api/v1/call/ws", lee)
        mine = await next_frame(staff, "admitted")
        assert mine["session_id"] == made["session"]["id"]
        status, admitted = await call(b, lee, "POST", f"/api/v1/rooms/entries/{entry_id}/admit", {})
        assert status == 200, admitted
        let_in = await next_frame(page.ws, "admitted")
        assert let_in["session_id"] == made["session"]["id"]
        told = await next_frame(events, "room.admitted")
        assert (told["data"]["entry_id"], told["data"]["entry"]["state"]) == (entry_id, "admitted")

        # 4. Each hears of the other: the page is told the clinician is in the call, the
        # clinician that the page joined; signals of an offer's size cross both ways, one
        # of them past what a NOTIFY carries (the channel spills it into the database).
        assert [p["peer_id"] for p in let_in["peers"]] == [mine["peer_id"]]
        heard = await next_frame(staff, "peer.joined")
        assert heard["peer_id"] == let_in["peer_id"]
        offer, big = offer_of(6_000), offer_of(NOTIFY_LIMIT + 2_000)
        got = await signalled(page.ws, staff, mine["peer_id"], offer)
        assert got == {"type": "signal", "from": let_in["peer_id"], "data": offer}
        before = await last_spill(pg_url)
        got = await signalled(staff, page.ws, let_in["peer_id"], big)
        assert got == {"type": "signal", "from": mine["peer_id"], "data": big}
        assert await last_spill(pg_url) > before
        # The clinician's page reloads: the client's page on A hears it join again.
        await staff.close()
        staff = await staff_socket(session, b, "/api/v1/call/ws", lee)
        assert (await next_frame(page.ws, "peer.joined"))["peer_id"] == mine["peer_id"]
        for ws in (staff, events, page.ws):
            await ws.close()


@pytest.mark.parametrize("relay", ["mesh", "always", "fallback"])
def test_a_call_across_servers_connects(pair: Pair, relay: str) -> None:
    """The headless participant (the page's protocol, real aiortc peers) on A and the
    clinician's on B: their media connection comes up through the servers' signalling,
    browser to browser (``mesh``) or through one server's relay call: the practice
    relays always (its home is B, where the clinician joins first) or the client's
    direct path fails and its page says so on A (its home is A)."""
    asyncio.run(_call_across(pair, relay))


async def _call_across(pair: Pair, relay: str) -> None:
    a, b = servers(pair)
    for url in (a, b) if relay == "always" else ():  # each server's policy, not its event's
        status, body = await call(url, pair.token, "PATCH", "/api/v1/practice", {"relay": "always"})
        assert status == 200, body
    async with aiohttp.ClientSession() as session:
        _, lee = await waiting_people(pair, session, 0)
    status, made = await call(b, lee, "POST", "/api/v1/sessions", {"room": True})
    assert status == 201, made
    token = await guest_link(pair)
    small = (160, 96)  # little to encode: the connection is what is tested
    blocked = blocked_direct if relay == "fallback" else None
    async with (
        Participant(b, staff_token=lee, video_size=small) as clinician,
        Participant(a, link_token=token, video_size=small, sdp_filter=blocked) as client,
    ):
        await clinician.start()
        await clinician.wait_state("admitted")
        await client.start()
        await client.wait_state("waiting")
        assert client.entry_id is not None
        status, admitted = await call(
            b, lee, "POST", f"/api/v1/rooms/entries/{client.entry_id}/admit", {}
        )
        assert status == 200, admitted
        await client.wait_state("admitted", "in_session")
        await asyncio.gather(client.wait_frames(3, within=30), clinician.wait_frames(3, within=30))
        assert client.session_id == clinician.session_id == made["session"]["id"]
        if relay == "mesh":
            assert set(client.peers) == {clinician.peer_id}
        else:
            assert set(client.peers) == {"relay", f"relay:{clinician.peer_id}"}
            assert set(clinician.peers) == {"relay", f"relay:{client.peer_id}"}
    status, found = await call(pair.url, lee, "GET", "/api/v1/sessions")
    assert status == 200, found
    [segment] = [s for s in found["items"] if s["id"] == made["session"]["id"]]
    assert segment["relayed"] is (relay != "mesh")


def test_two_servers_admitting_one_entry_at_once_admit_it_once(pair: Pair) -> None:
    """The owner's ``Admission`` decides, whichever server the admits came to."""
    asyncio.run(_admitted_once(pair))


async def _admitted_once(pair: Pair) -> None:
    a, b = servers(pair)
    async with aiohttp.ClientSession() as session:
        _, lee = await waiting_people(pair, session, 0)
        status, made = await call(b, lee, "POST", "/api/v1/sessions", {"room": True})
        assert status == 201, made
        # One person waiting on each server: each race has the owner's own admit and one
        # forwarded to it from the other server.
        pages = [await new_guest(pair, session, f"dev_{i}") for i in range(2)]
        for page, url in zip(pages, (a, b), strict=True):
            await page.hello(session, url)
        for page in pages:
            path = f"/api/v1/rooms/entries/{page.status['entry_id']}/admit"
            answers = await asyncio.gather(
                call(a, lee, "POST", path, {}), call(b, lee, "POST", path, {})
            )
            codes = sorted(status for status, _ in answers)
            assert codes == [200, 409], answers
            refused = next(body for status, body in answers if status == 409)
            assert refused["error"]["code"] == "already_admitted"
            assert refused["error"]["message"] == "already admitted by Lee"
            assert page.ws is not None
            assert (await next_frame(page.ws, "admitted"))["session_id"] == made["session"]["id"]
        ids = {page.status["entry_id"] for page in pages}
        status, rooms = await call(pair.url, lee, "GET", "/api/v1/rooms")
        assert status == 200, rooms
        states = {e["id"]: e["state"] for room in rooms["items"] for e in room["entries"]}
        assert {i: states[i] for i in ids} == dict.fromkeys(ids, "admitted")
        status, audit = await call(pair.url, pair.token, "GET", "/api/v1/audit")
        assert status == 200, audit
        admits = [e for e in audit["items"] if e["action"] == "room.admit"]
        assert sorted(e["target"] for e in admits) == sorted(ids), admits
        for page in pages:
            assert page.ws is not None
            await page.ws.close()
