"""The participant websocket: auth before upgrade, frame rules, signalling after admission."""

from __future__ import annotations

import aiohttp
import pytest

from tlh.server.wsproto import FloodGuard, FrameRejected

from .conftest import Practice
from .outreach_helpers import add_client, consent_session, origin
from .rooms_helpers import admit, connect, guest, guest_cookie


async def test_no_cookie_is_refused_before_the_upgrade(practice: Practice) -> None:
    with pytest.raises(aiohttp.WSServerHandshakeError) as err:
        await connect(practice, None)
    assert err.value.status == 401


async def test_foreign_origin_is_refused_before_the_upgrade(practice: Practice) -> None:
    cookie = await guest_cookie(practice)
    with pytest.raises(aiohttp.WSServerHandshakeError) as err:
        await connect(practice, cookie, Origin="https://evil.example")
    assert err.value.status == 403


@pytest.mark.parametrize(("sent_origin", "status", "code"), [
    (None, 401, "unauthenticated"),
    ("https://evil.example", 403, "forbidden"),
])  # fmt: skip
async def test_a_refused_upgrade_is_the_usual_envelope(
    practice: Practice, sent_origin: str | None, status: int, code: str
) -> None:
    """The socket's handler answers its own refusals: the same envelope and headers as
    any other route's."""
    cookie = await guest_cookie(practice) if sent_origin else None
    headers = {
        "Upgrade": "websocket",
        "Connection": "Upgrade",
        "Sec-WebSocket-Version": "13",
        "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
        "Origin": sent_origin or origin(practice),
    }
    if cookie is not None:
        headers["Cookie"] = f"__Host-tlh_link={cookie}"
    answer = await practice.client.get("/api/v1/link/ws", headers=headers)
    assert answer.status == status
    assert (await answer.json())["error"]["code"] == code
    assert answer.headers["Cache-Control"] == "no-store"


async def test_hello_gets_a_waiting_status(practice: Practice) -> None:
    _peer, status = await guest(practice, display_name="Sam\x07 Guest")
    assert status["state"] == "waiting"
    assert status["position"] == 1
    assert status["clinician_name"] == "Clinician"
    assert status["second_device"] is False
    _, rooms = await practice.call("GET", "/api/v1/rooms")
    [lee] = [r for r in rooms["items"] if r["clinician_id"] == practice.ids["clinician"]]
    assert [e["label"] for e in lee["entries"]] == ["Sam Guest"]


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        (b"\x00\x01", 1008),
        ("{not json", 1008),
        ('{"type": "teleport"}', 1008),
        ('{"type": "admit", "entry_id": "ent_x"}', 1008),
        ('{"type": "hello", "device_id": "' + "x" * 17_000 + '"}', 1009),
        ('{"type": "signal", "to": "x", "data": {}}', 1008),
        ('{"type": "device_check", "camera": ["ok"]}', 1008),
    ],
    ids=[
        "binary",
        "invalid-json",
        "unknown-type",
        "staff-type",
        "oversized",
        "sdp-too-early",
        "device-check-not-text",
    ],
)
async def test_bad_frames_close_only_that_socket(
    practice: Practice, frame: str | bytes, code: int
) -> None:
    bystander, _ = await guest(practice, "dev_b")
    bad, _ = await guest(practice, "dev_a")
    if isinstance(frame, bytes):
        await bad.ws.send_bytes(frame)
    else:
        await bad.ws.send_str(frame)
    assert await bad.closed() == code
    # The other socket is untouched and still hears from the room.
    status, _ = await practice.call(
        "POST", "/api/v1/rooms/message", role="clinician", json={"text": "Running 5 min late"}
    )
    assert status == 200
    assert (await bystander.next("message"))["text"] == "Running 5 min late"


async def test_flood_closes_the_socket(practice: Practice) -> None:
    peer, _ = await guest(practice)
    for _ in range(60):
        await peer.send({"type": "device_check", "camera": "ok", "microphone": "ok"})
    assert await peer.closed() == 1008


async def test_signal_relay_between_admitted_participants(practice: Practice) -> None:
    a, sa = await guest(practice, "dev_a")
    b, sb = await guest(practice, "dev_b")
    status, _ = await admit(practice, sa["entry_id"])
    assert status == 200
    admitted_a = await a.next("admitted")
    assert admitted_a["peers"] == []
    status, _ = await admit(practice, sb["entry_id"])
    assert status == 200
    admitted_b = await b.next("admitted")
    assert [p["peer_id"] for p in admitted_b["peers"]] == [sa["entry_id"]]
    assert admitted_a["session_id"] == admitted_b["session_id"]
    joined = await a.next("peer.joined")
    assert joined["peer_id"] == sb["entry_id"]
    offer = {"description": {"type": "offer", "sdp": "v=0 fake"}}
    await b.send({"type": "signal", "to": sa["entry_id"], "data": offer})
    got = await a.next("signal")
    assert got == {"type": "signal", "from": sb["entry_id"], "data": offer}
    answer = {"description": {"type": "answer", "sdp": "v=0 fake answer"}}
    await a.send({"type": "signal", "to": sb["entry_id"], "data": answer})
    assert (await b.next("signal"))["data"] == answer
    await b.send({"type": "leave"})
    assert (await a.next("peer.left"))["peer_id"] == sb["entry_id"]


async def test_waiting_clients_never_see_each_other(practice: Practice) -> None:
    _a, sa = await guest(practice, "dev_a")
    b, sb = await guest(practice, "dev_b")
    c, sc = await guest(practice, "dev_c")
    assert sc["position"] == 3
    status, _ = await admit(practice, sa["entry_id"])
    assert status == 200
    # b and c move up a place; neither hears about anyone else.
    assert (await b.next("status", position=1))["entry_id"] == sb["entry_id"]
    assert (await c.next("status", position=2))["entry_id"] == sc["entry_id"]
    await b.send({"type": "leave"})
    await c.next("status", position=1)
    for frame in c.seen:
        text = str(frame)
        assert sa["entry_id"] not in text
        assert sb["entry_id"] not in text


def test_flood_guard_allows_fifty_a_second() -> None:
    now = [0.0]
    guard = FloodGuard(clock=lambda: now[0])
    for _ in range(50):
        guard.hit()
    with pytest.raises(FrameRejected):
        guard.hit()
    now[0] += 0.1  # a tenth of a second buys five more
    for _ in range(5):
        guard.hit()
    with pytest.raises(FrameRejected):
        guard.hit()


async def test_a_consent_link_cannot_enter_the_room(practice: Practice) -> None:
    client_id = await add_client(practice)
    cookie, _ = await consent_session(practice, client_id)
    with pytest.raises(aiohttp.WSServerHandshakeError) as err:
        await connect(practice, cookie)
    assert err.value.status == 403
