"""Relay mode in real calls: headless participants through the real server, on loopback.

The server's relay joins a segment when the practice asks for it always, when a group
outgrows the browser mesh, and when a page's direct media fails; every participant then
receives every other one from the virtual peer ``relay:X``, the server decodes nothing,
the segment is recorded (and reported) as relayed, and leaving closes what it leaves.
"""

from __future__ import annotations

import asyncio
import csv
import io
import re
import sys
from collections.abc import AsyncIterator, Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any, cast

import aiohttp
import pytest

from tlh.media import aiortc_private
from tlh.media.participant import Participant
from tlh.media.relaycall import RelayCall
from tlh.server.keys import CALL_HUB

from .call_helpers import eligible_appointment
from .conftest import Practice
from .outreach_helpers import token_in
from .rooms_helpers import admit, start_room_session

SMALL = (160, 120)
BENCH = Path(__file__).resolve().parents[2] / "bench"
CANDIDATE = re.compile(r"^a=candidate:.*\r?\n", re.MULTILINE)


def url_of(practice: Practice) -> str:
    return str(practice.client.make_url("/")).rstrip("/")


async def set_policy(practice: Practice, **fields: Any) -> None:
    status, body = await practice.call("PATCH", "/api/v1/practice", json=fields)
    assert status == 200, body


async def guest_token(practice: Practice) -> str:
    status, made = await practice.call(
        "POST", "/api/v1/invites/guest", json={"clinician": "lee@example.org"}
    )
    assert status == 201, made
    return token_in(made["url"])


async def join_token(practice: Practice, appointment_id: str) -> str:
    status, made = await practice.call(
        "POST", "/api/v1/invites/link", json={"appointment_id": appointment_id}
    )
    assert status == 201, made
    return token_in(made["url"])


async def segment(practice: Practice, session_id: str) -> dict[str, Any]:
    status, found = await practice.call("GET", "/api/v1/sessions")
    assert status == 200, found
    return next(s for s in found["items"] if s["id"] == session_id)


def relay_call(practice: Practice, session_id: str) -> RelayCall:
    found = practice.client.app[CALL_HUB].relay_of(session_id)
    assert isinstance(found, RelayCall)
    return found


class Call:
    """The clinician (staff socket) and guests of one room session, all closed at the end."""

    def __init__(self, practice: Practice) -> None:
        self.practice = practice
        self.people: list[Participant] = []
        self.session_id = ""

    async def clinician(self) -> Participant:
        made = await start_room_session(self.practice)
        self.session_id = made["id"]
        lee = self._add(
            Participant(url_of(self.practice), staff_token=self.practice.tokens["clinician"])
        )
        await lee.start()
        await lee.wait_state("admitted", within=5)
        return lee

    async def guest(
        self, token: str | None = None, sdp_filter: Callable[[str, str], str] | None = None
    ) -> Participant:
        """A guest (or, with ``token``, that link's holder) let into the call."""
        person = self._add(
            Participant(
                url_of(self.practice),
                link_token=token or await guest_token(self.practice),
                sdp_filter=sdp_filter,
            )
        )
        await person.start()
        await person.wait_state("waiting", within=5)
        assert person.entry_id is not None
        status, body = await admit(self.practice, person.entry_id)
        assert status == 200, body
        await person.wait_state("admitted", "in_session", within=5)
        return person

    def _add(self, person: Participant) -> Participant:
        person.video_size = SMALL
        self.people.append(person)
        return person

    async def everyone_hears_everyone(self, within: float) -> None:
        for person in self.people:
            await person.wait_frames(3, within=within)
            expected = {f"relay:{p.peer_id}" for p in self.people if p is not person}
            assert set(person.peers) == {"relay"} | expected

    async def close(self) -> None:
        for person in self.people:
            await person.close()


@pytest.fixture
async def call(practice: Practice) -> AsyncIterator[Call]:
    made = Call(practice)
    try:
        yield made
    finally:
        await made.close()


async def test_policy_always_relays_a_one_to_one_and_the_server_decodes_nothing(
    practice: Practice, call: Call
) -> None:
    await set_policy(practice, relay="always")
    with aiortc_private.watch_decoders() as creators:
        lee = await call.clinician()
        assert set(lee.peers) == {"relay"}  # alone: only the upload
        guest = await call.guest()
        await call.everyone_hears_everyone(within=15)
        relay = relay_call(practice, call.session_id)
        server_threads = {
            aiortc_private.decoder_thread(t.receiver)
            for pc in relay.connections().values()
            for t in pc.getTransceivers()
        }
    assert creators  # the participants decode what they get
    assert not creators & server_threads
    for person in (lee, guest):
        forwarded = relay.relay_of(str(person.peer_id))
        assert forwarded is not None
        assert forwarded.frames_in["video"] > 0
    assert (await segment(practice, call.session_id))["relayed"] is True


async def test_a_fifth_person_switches_the_group_to_relay_and_everyone_gets_everyone(
    practice: Practice, call: Call
) -> None:
    hub = practice.client.app[CALL_HUB]
    await call.clinician()
    for _ in range(3):
        await call.guest()
    assert hub.count(call.session_id) == hub.mesh_limit
    assert not hub.relayed(call.session_id)
    assert (await segment(practice, call.session_id))["relayed"] is False

    await call.guest()
    assert hub.relayed(call.session_id)
    await call.everyone_hears_everyone(within=30)
    assert len(relay_call(practice, call.session_id).connections()) == 5 * 5
    assert (await segment(practice, call.session_id))["relayed"] is True


def blocked_direct(peer_id: str, sdp: str) -> str:
    """Test hook: no candidates to or from a mesh peer, so its ICE fails at once."""
    return sdp if peer_id.startswith("relay") else CANDIDATE.sub("", sdp)


async def test_a_one_to_one_whose_direct_path_fails_falls_back_to_relay(
    practice: Practice, call: Call
) -> None:
    appointment_id = await eligible_appointment(practice)
    status, made = await practice.call(
        "POST", "/api/v1/sessions", role="clinician", json={"appointment_id": appointment_id}
    )
    assert status == 201, made
    call.session_id = made["session"]["id"]
    lee = call._add(Participant(url_of(practice), staff_token=practice.tokens["clinician"]))
    await lee.start()
    await lee.wait_state("admitted", within=5)
    client = await call.guest(await join_token(practice, appointment_id), blocked_direct)

    await call.everyone_hears_everyone(within=20)
    assert practice.client.app[CALL_HUB].relayed(call.session_id)
    assert all(link.state == "connected" for link in client.peers.values())
    assert (await segment(practice, call.session_id))["relayed"] is True
    # The report (in the practice's zone: any day around today) says so, JSON and CSV.
    days = f"from={date.today() - timedelta(days=1)}&to={date.today() + timedelta(days=1)}"
    status, report = await practice.call("GET", f"/api/v1/reports/sessions?{days}")
    assert status == 200, report
    row = next(r for r in report["items"] if r["session_id"] == call.session_id)
    assert row["relayed"] is True
    response = await practice.client.get(
        f"/api/v1/reports/sessions?{days}&format=csv", headers=practice.auth()
    )
    rows = list(csv.DictReader(io.StringIO(await response.text())))
    assert [r["relayed"] for r in rows if r["session_id"] == call.session_id] == ["true"]


async def test_leaving_closes_the_relayed_connections_and_ending_closes_the_rest(
    practice: Practice, call: Call
) -> None:
    await set_policy(practice, relay="always")
    lee = await call.clinician()
    first = await call.guest()
    second = await call.guest()
    await call.everyone_hears_everyone(within=20)
    relay = relay_call(practice, call.session_id)
    leaving = cast(str, second.entry_id)
    gone = [pc for key, pc in relay.connections().items() if leaving in key]
    assert len(gone) == 1 + 2 + 2
    closed = asyncio.Event()
    for pc in gone:
        pc.on("connectionstatechange", closed.set)

    await second.leave()
    for person in (lee, first):
        await person.wait_for(
            lambda person=person: f"relay:{leaving}" not in person.peers, 5, "peer.left"
        )
    async with asyncio.timeout(5):
        while any(pc.connectionState != "closed" for pc in gone):
            closed.clear()
            await closed.wait()
    assert len(relay.connections()) == 2 * 2
    assert relay.participants == [lee.peer_id, first.entry_id]

    kept = list(relay.connections().values())
    for pc in kept:
        pc.on("connectionstatechange", closed.set)
    status, _ = await practice.call(
        "POST", f"/api/v1/sessions/{call.session_id}/end", role="clinician", json={}
    )
    assert status == 200
    await first.wait_state("ended", within=5)
    assert practice.client.app[CALL_HUB].relay_of(call.session_id) is None
    async with asyncio.timeout(5):
        while any(pc.connectionState != "closed" for pc in kept):
            closed.clear()
            await closed.wait()


async def test_a_relayed_segment_is_capped_and_the_policy_takes_only_its_values(
    practice: Practice, call: Call
) -> None:
    status, body = await practice.call("PATCH", "/api/v1/practice", json={"relay": "often"})
    assert status == 422, body
    await set_policy(practice, relay="always")
    practice.client.app[CALL_HUB].relay_limit = 2
    await call.clinician()
    await call.guest()
    late = call._add(Participant(url_of(practice), link_token=await guest_token(practice)))
    await late.start()
    await late.wait_state("waiting", within=5)
    assert late.entry_id is not None
    status, body = await admit(practice, late.entry_id)
    assert status == 409, body
    assert body["error"]["code"] == "session_full"


async def test_a_relayed_one_to_one_grows_the_server_by_under_5_mb_in_60_s(
    tmp_path: Path,
) -> None:
    """``tlh serve`` in a subprocess: VmRSS after a warm-up, then over 60 s of relaying."""
    sys.path.insert(0, str(BENCH))
    from bench_room_ws import Server, seed

    admin, made = await seed(tmp_path / "data", 1, clients_per_appt=2)
    server = Server(tmp_path / "data")
    people: list[Participant] = []
    try:
        async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {admin}"}) as http:
            policy = {"relay": "always", "waiting_room_default": False}
            async with http.patch(f"{server.url}/api/v1/practice", json=policy) as response:
                assert response.status == 200, await response.text()
            started = {"appointment_id": made[0][1]}
            async with http.post(f"{server.url}/api/v1/sessions", json=started) as response:
                assert response.status == 201, await response.text()
        for token, _, _ in made:
            person = Participant(server.url, link_token=token, video_size=SMALL)
            people.append(person)
            await person.start()
        for person in people:
            await person.wait_frames(3, within=20)
            assert set(person.peers) == {"relay", f"relay:{_other(people, person)}"}
        await _frames_flowing(people, 10.0)  # warm-up: the relay's queues and pools fill
        before = server.rss_kb()
        samples = await _frames_flowing(people, 60.0, server.rss_kb)
        growth = samples[-1] - before
        print(f"\nserver RSS {before} kB -> {samples[-1]} kB over 60 s (+{growth} kB)")
        assert growth < 5 * 1024, samples
    finally:
        for person in people:
            await person.close()
        server.stop()


def _other(people: list[Participant], person: Participant) -> str:
    return next(str(p.entry_id) for p in people if p is not person)


async def _frames_flowing(
    people: list[Participant], seconds: float, sample: Callable[[], int] | None = None
) -> list[int]:
    """Run the call for ``seconds`` (sampling every 5 s); video must keep arriving."""
    samples: list[int] = []
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds
    while (left := end - loop.time()) > 0:
        counts = [_video_in(p) for p in people]
        await asyncio.sleep(min(5.0, left))  # a measurement window, not a wait for an event
        assert all(_video_in(p) > n for p, n in zip(people, counts, strict=True))
        if sample is not None:
            samples.append(sample())
    return samples


def _video_in(person: Participant) -> int:
    return sum(link.frames_received.get("video", 0) for link in person.peers.values())
