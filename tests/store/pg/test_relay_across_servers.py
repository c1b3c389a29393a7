"""A call relayed through a server whose people's sockets are on two servers: the
clinician's call page on B, the client's page on A, behind HAProxy on one PostgreSQL.
The segment has its relay call on one server (its home: B when the practice relays
always, as the clinician joins first; A when the client's direct path fails and its page
says so there); the other server's pages signal to it through the channel, and everyone
receives everyone from ``relay:X``."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import pytest

from tests.server.test_relay_calls import blocked_direct
from tests.store.pg.failover import Pair, guest_link, pair_behind_haproxy, waiting_people
from tests.store.pg.practice import call
from tlh.media.participant import Participant

pytestmark = pytest.mark.timeout(180)

SMALL = (160, 120)


@pytest.mark.parametrize("relay", ["always", "fallback"])
def test_a_relayed_call_with_people_on_two_servers_carries_everyone_s_media(
    tmp_path: Path, pg_url: str, relay: str
) -> None:
    with pair_behind_haproxy(tmp_path, pg_url) as pair:
        asyncio.run(_relayed_across(pair, always=relay == "always"))
        for log in pair.logs:
            assert "Traceback" not in log.read_text()


async def _relayed_across(pair: Pair, *, always: bool) -> None:
    a_url, b_url = list(pair.procs)
    for url in (a_url, b_url) if always else ():  # each server's policy now, not its event's
        status, body = await call(url, pair.token, "PATCH", "/api/v1/practice", {"relay": "always"})
        assert status == 200, body
    async with aiohttp.ClientSession() as http:
        _, lee = await waiting_people(pair, http, 0)
    status, session = await call(b_url, lee, "POST", "/api/v1/sessions", {"room": True})
    assert status == 201, session
    session_id = session["session"]["id"]

    doc = Participant(b_url, staff_token=lee, video_size=SMALL)
    guest = Participant(
        a_url,
        link_token=await guest_link(pair),
        video_size=SMALL,
        sdp_filter=None if always else blocked_direct,
    )
    try:
        await doc.start()
        await doc.wait_state("admitted", within=10)
        await guest.start()
        await guest.wait_state("waiting", within=10)
        assert guest.entry_id is not None
        status, body = await call(
            b_url, lee, "POST", f"/api/v1/rooms/entries/{guest.entry_id}/admit", {}
        )
        assert status == 200, body  # admitted from B, the entry being A's
        await guest.wait_state("admitted", "in_session", within=10)
        for person, other in ((doc, guest), (guest, doc)):
            await person.wait_frames(3, within=30)
            assert set(person.peers) == {"relay", f"relay:{other.peer_id}"}
    finally:
        await guest.close()
        await doc.close()
    status, found = await call(pair.url, lee, "GET", "/api/v1/sessions")
    assert status == 200, found
    [segment] = [s for s in found["items"] if s["id"] == session_id]
    assert segment["relayed"] is True
