"""The connection test's routes: auth as the participant socket, the echo answer, the result.

Offers come from a real aiortc peer (never connected: the answer is what is checked);
results land on the real waiting-room entry and the staff event stream hears of them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from functools import partial
from typing import Any

import pytest
from aiortc import RTCPeerConnection

from tlh.media.ice import configuration, gathering
from tlh.media.synthetic import BarTrack, ToneTrack
from tlh.server.keys import ECHO_PEERS

from .conftest import Practice
from .outreach_helpers import add_client, consent_session, origin
from .rooms_helpers import connect, events, guest_cookie

OFFER = "/api/v1/link/conntest/offer"
RESULT = "/api/v1/link/conntest/result"
FIGURES = {"rtt_ms": 42.5, "jitter_ms": 4.0, "loss_pct": 0.2, "bitrate_kbps": 480.0}


@pytest.fixture
async def offers() -> AsyncIterator[list[str]]:
    """Five real browser-shaped offers (audio + video), their peers closed afterwards."""
    pcs = [RTCPeerConnection(configuration()) for _ in range(5)]
    tracks = [track for _ in pcs for track in (ToneTrack(), BarTrack())]
    try:
        sdps = []
        for n, pc in enumerate(pcs):
            pc.addTrack(tracks[2 * n])
            pc.addTrack(tracks[2 * n + 1])
            offer = await pc.createOffer()
            await gathering(True, partial(pc.setLocalDescription, offer))
            sdps.append(pc.localDescription.sdp)
        yield sdps
    finally:
        for track in tracks:
            track.stop()
        for pc in pcs:
            await pc.close()


async def post(
    practice: Practice, path: str, cookie: str | None, body: Any, **headers: str
) -> tuple[int, Any]:
    sent = {"Origin": origin(practice), **headers}
    if cookie is not None:
        sent["Cookie"] = f"__Host-tlh_link={cookie}"
    response = await practice.client.post(path, json=body, headers=sent)
    return response.status, await response.json()


@pytest.mark.parametrize("path", [OFFER, RESULT])
async def test_without_the_link_cookie_it_is_401(practice: Practice, path: str) -> None:
    status, body = await post(practice, path, None, {"device_id": "dev_1", "sdp": "v=0"})
    assert status == 401
    assert body["error"]["code"] == "unauthenticated"
    status, _ = await post(practice, path, "not-a-session", {"device_id": "dev_1"})
    assert status == 401


@pytest.mark.parametrize("path", [OFFER, RESULT])
async def test_a_foreign_origin_or_a_consent_link_is_403(practice: Practice, path: str) -> None:
    cookie = await guest_cookie(practice)
    status, _ = await post(
        practice, path, cookie, {"device_id": "dev_1"}, Origin="https://evil.example"
    )
    assert status == 403
    consent_cookie, _ = await consent_session(practice, await add_client(practice))
    status, body = await post(practice, path, consent_cookie, {"device_id": "dev_1"})
    assert status == 403
    assert body["error"]["message"] == "this link is for the consent form only"


async def test_an_offer_is_answered_by_the_echo_peer_until_it_is_busy(
    practice: Practice, offers: list[str]
) -> None:
    cookie = await guest_cookie(practice)
    peers = practice.client.server.app[ECHO_PEERS]
    for n, sdp in enumerate(offers[: peers.limit]):
        status, answer = await post(practice, OFFER, cookie, {"device_id": f"dev_{n}", "sdp": sdp})
        assert status == 200, answer
        assert answer["type"] == "answer"
        assert "m=audio" in answer["sdp"]
        assert "m=video" in answer["sdp"]
        assert "a=candidate:" in answer["sdp"]
        assert "127.0.0.1" in answer["sdp"]  # a loopback-bound server offers loopback
    assert peers.active == peers.limit
    status, busy = await post(practice, OFFER, cookie, {"device_id": "dev_x", "sdp": offers[-1]})
    assert status == 503
    assert busy["error"] == {
        "code": "echo_busy",
        "message": "the connection test is busy; please try again in a minute",
        "details": None,
    }
    # Posting the result frees that page's echo peer.
    status, _ = await post(practice, RESULT, cookie, {"device_id": "dev_0", **FIGURES})
    assert status == 200
    assert peers.active == peers.limit - 1


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"device_id": "dev_1", "sdp": "not an offer"}, "the offer sends no audio or video"),
        (
            {"device_id": "dev_1", "sdp": "v=0\r\nm=audio x RTP/AVP 0\r\n"},
            "the offer is not a usable",
        ),
        ({"device_id": "dev_1", "sdp": ""}, "sdp must be the offer's session description"),
        ({"device_id": "dev_1"}, "sdp is required"),
        ({"sdp": "v=0"}, "device_id is required"),
        ({"device_id": "x" * 101, "sdp": "v=0"}, "device_id must be at most 100 characters"),
    ],
)
async def test_a_bad_offer_is_400(practice: Practice, body: Any, message: str) -> None:
    cookie = await guest_cookie(practice)
    status, answer = await post(practice, OFFER, cookie, body)
    assert status == 400
    assert answer["error"]["message"].startswith(message)
    assert practice.client.server.app[ECHO_PEERS].active == 0


async def test_an_oversized_offer_is_413(practice: Practice) -> None:
    cookie = await guest_cookie(practice)
    status, _ = await post(practice, OFFER, cookie, {"device_id": "d", "sdp": "a" * 70_000})
    assert status == 413


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"rtt_ms": -5}, "rtt_ms must be between 0 and 60000"),
        ({"loss_pct": 250}, "loss_pct must be between 0 and 100"),
        ({"bitrate_kbps": "fast"}, "bitrate_kbps must be a number or null"),
        ({"jitter_ms": True}, "jitter_ms must be a number or null"),
        ({"device_id": None}, "device_id must be a string"),
    ],
)
async def test_bad_numbers_are_400_and_change_nothing(
    practice: Practice, change: dict[str, Any], message: str
) -> None:
    cookie = await guest_cookie(practice)
    peer = await connect(practice, cookie)
    await peer.hello("dev_1")
    status, body = await post(practice, RESULT, cookie, {"device_id": "dev_1", **FIGURES, **change})
    assert status == 400
    assert body["error"] == {"code": "bad_request", "message": message, "details": None}
    _, rooms = await practice.call("GET", "/api/v1/rooms")
    [entry] = [e for room in rooms["items"] for e in room["entries"]]
    assert entry["connection_test"] is None


async def test_the_result_lands_on_the_entry_and_the_clinician_hears_of_it(
    practice: Practice,
) -> None:
    cookie = await guest_cookie(practice)
    peer = await connect(practice, cookie)
    entry_id = (await peer.hello("dev_1"))["entry_id"]
    staff = await events(practice)
    status, body = await post(practice, RESULT, cookie, {"device_id": "dev_1", **FIGURES})
    assert status == 200, body
    assert body["on_entry"] is True
    assert body["test"]["verdict"] == "good"
    assert body["advice"] == "Your connection looks good for a video call."
    updated = await staff.next("room.updated", entry_id=entry_id)
    assert updated["clinician_id"] == practice.ids["clinician"]
    _, rooms = await practice.call("GET", "/api/v1/rooms", role="clinician")
    [entry] = [e for room in rooms["items"] for e in room["entries"]]
    test = entry["connection_test"]
    assert {k: test[k] for k in FIGURES} == FIGURES
    assert test["verdict"] == "good"
    assert test["at"] == body["test"]["at"]


async def test_a_result_before_the_waiting_room_is_kept_for_that_device(
    practice: Practice,
) -> None:
    cookie = await guest_cookie(practice)
    poor = {**FIGURES, "loss_pct": 12.0}
    status, body = await post(practice, RESULT, cookie, {"device_id": "dev_1", **poor})
    assert status == 200
    assert body["on_entry"] is False
    assert body["test"]["verdict"] == "poor"
    assert "gets lost on the way" in body["advice"]
    # Another device of the same link is another page: it did not run this test.
    other = await connect(practice, cookie)
    await other.hello("dev_2")
    peer = await connect(practice, cookie)
    entry_id = (await peer.hello("dev_1"))["entry_id"]
    _, rooms = await practice.call("GET", "/api/v1/rooms")
    entries = {e["id"]: e for room in rooms["items"] for e in room["entries"]}
    assert entries[entry_id]["connection_test"]["verdict"] == "poor"
    assert [e["connection_test"] for i, e in entries.items() if i != entry_id] == [None]
