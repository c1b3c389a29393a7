"""Who hears which staff event: a clinician their own room, appointments and clients;
admins and schedulers everything; a room event shows its entry (audited) to its room."""

from __future__ import annotations

import asyncio
import errno
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest

from tlh.server.keys import AUDIT

from .conftest import Practice
from .outreach_helpers import add_appointment, add_client, add_clinician
from .rooms_helpers import WAIT_S, Peer, appointment_link, arrive, connect, redeemed

DR_B = "drb@example.org"
#: Sent to every staff member: whatever a socket got before it is all it will get.
MARKER = "practice.updated"


async def _add_dr_b(practice: Practice) -> None:
    made = await add_clinician(practice, DR_B, "Dr B")
    practice.tokens["dr_b"] = made["token"]
    practice.ids["dr_b"] = made["staff"]["id"]


async def _dr_bs_client(practice: Practice) -> tuple[str, str]:
    """Ana, with consent and an appointment with Dr B now: her id and a join link's url."""
    client_id = await add_client(practice)
    status, _ = await practice.call(
        "POST", "/api/v1/consents/verbal", json={"client_id": client_id, "note": "by phone"}
    )
    assert status == 201
    start = datetime.now(UTC) - timedelta(minutes=1)
    appt = await add_appointment(practice, client_id, start, clinicians=[DR_B])
    return client_id, (await appointment_link(practice, appt["id"]))["url"]


async def _arrive(practice: Practice, url: str) -> tuple[Peer, str]:
    """The client opens the link and waits: the socket and the entry id."""
    peer, status = await arrive(practice, url)
    return peer, str(status["entry_id"])


async def _stream(practice: Practice, role: str) -> aiohttp.ClientWebSocketResponse:
    ws = await practice.client.ws_connect("/api/v1/events", headers=practice.auth(role))
    assert (await ws.receive_json(timeout=WAIT_S))["type"] == "events.ready"
    return ws


async def _until(ws: aiohttp.ClientWebSocketResponse, kind: str) -> list[dict[str, Any]]:
    """Every event up to and including the first of ``kind``, in order."""
    got: list[dict[str, Any]] = []
    async with asyncio.timeout(WAIT_S):
        while not got or got[-1]["type"] != kind:
            msg = await ws.receive()
            assert msg.type == aiohttp.WSMsgType.TEXT, msg
            got.append(json.loads(msg.data))
    return got


async def _marker(practice: Practice) -> None:
    status, _ = await practice.call(
        "PATCH", "/api/v1/practice", json={"timezone": "America/New_York"}
    )
    assert status == 200


async def _client_readers(practice: Practice, client_id: str) -> list[str]:
    """Who has read the client's record, by staff id, as the audit log says."""
    _, log = await practice.call("GET", "/api/v1/audit")
    return sorted(
        e["actor"]["id"]
        for e in log["items"]
        if e["action"] == "client.read" and e["target"] == client_id
    )


async def test_an_arrival_in_dr_bs_room_reaches_dr_b_and_the_admin_not_dr_a(
    practice: Practice,
) -> None:
    await _add_dr_b(practice)
    client_id, url = await _dr_bs_client(practice)
    dr_a, dr_b, admin = [await _stream(practice, r) for r in ("clinician", "dr_b", "admin")]
    peer, entry_id = await _arrive(practice, url)

    joined = {}
    for name, ws in (("dr_b", dr_b), ("admin", admin)):
        *_, joined[name] = await _until(ws, "room.joined")
        assert joined[name]["data"]["entry_id"] == entry_id
    await _marker(practice)
    # Dr A hears nothing of it: not the link opened, not the arrival.
    assert [e["type"] for e in await _until(dr_a, MARKER)] == [MARKER]
    # Each delivery showed Ana's name: a read of her record, audited before it was sent.
    assert await _client_readers(practice, client_id) == sorted(
        [practice.ids["dr_b"], practice.ids["admin"]]
    )
    # The entry as GET /rooms shows it, so the dashboard need not ask.
    _, rooms = await practice.call("GET", "/api/v1/rooms", role="dr_b")
    [listed] = rooms["items"][0]["entries"]
    assert joined["dr_b"]["data"]["entry"] == listed
    assert joined["admin"]["data"]["entry"] == listed
    assert listed["label"] == "Ana Client"
    await peer.ws.close()
    for ws in (dr_a, dr_b, admin):
        await ws.close()


async def test_a_transfer_shows_the_entry_to_its_new_room_only(practice: Practice) -> None:
    await _add_dr_b(practice)
    _, url = await _dr_bs_client(practice)
    peer, entry_id = await _arrive(practice, url)
    dr_a, dr_b, scheduler = [await _stream(practice, r) for r in ("clinician", "dr_b", "scheduler")]
    status, _ = await practice.call(
        "POST", f"/api/v1/rooms/entries/{entry_id}/transfer", json={"to": "lee@example.org"}
    )
    assert status == 200
    *_, to_a = await _until(dr_a, "room.transferred")
    *_, to_scheduler = await _until(scheduler, "room.transferred")
    *_, from_b = await _until(dr_b, "room.transferred")
    assert to_a["data"]["entry"]["clinician_id"] == practice.ids["clinician"]
    assert to_scheduler["data"]["entry"]["label"] == "Ana Client"
    # Dr B learns the entry left their room, and no more: no view, no name.
    assert from_b["data"]["entry_id"] == entry_id
    assert "entry" not in from_b["data"]
    assert "Ana" not in json.dumps(from_b)
    await peer.ws.close()
    for ws in (dr_a, dr_b, scheduler):
        await ws.close()


async def test_clinicians_hear_of_their_own_appointments_and_clients_only(
    practice: Practice,
) -> None:
    await _add_dr_b(practice)
    dr_a, dr_b, scheduler = [await _stream(practice, r) for r in ("clinician", "dr_b", "scheduler")]
    client_id = await add_client(practice)
    await add_appointment(practice, client_id, clinicians=[DR_B])
    status, _ = await practice.call(
        "POST", "/api/v1/consents/verbal", json={"client_id": client_id, "note": "by phone"}
    )
    assert status == 201
    await _marker(practice)
    expected = ["appointment.created", "consent.accepted", MARKER]
    assert [e["type"] for e in await _until(dr_b, MARKER)] == expected
    assert [e["type"] for e in await _until(dr_a, MARKER)] == [MARKER]
    assert [e["type"] for e in await _until(scheduler, MARKER)] == ["client.created", *expected]
    for ws in (dr_a, dr_b, scheduler):
        await ws.close()


async def test_an_entry_that_cannot_be_audited_is_not_sent(
    practice: Practice, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _add_dr_b(practice)
    _, url = await _dr_bs_client(practice)
    peer = await connect(practice, await redeemed(practice, url))
    admin = await _stream(practice, "admin")

    def full(data: bytes) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    # Every audit write fails from here on (a full disk), until the test ends.
    monkeypatch.setattr(practice.client.app[AUDIT], "_write_sync", full)
    await peer.send({"type": "hello", "device_id": "dev_1"})
    async with asyncio.timeout(WAIT_S):
        msg = await admin.receive()
    # Closed (the dashboard reconnects and resyncs), and Ana's entry was never sent.
    assert msg.type == aiohttp.WSMsgType.CLOSE, msg
    assert msg.data == aiohttp.WSCloseCode.INTERNAL_ERROR
    await peer.ws.close()
