"""A restart of the server loses nobody: link sessions, call-page sessions and waiting-room
entries (place, arrival, device check, connection verdict, the call each is in, the
messages kept for each page) are in the store, and the rooms are rebuilt from it.

The server here is stopped the way SIGTERM stops ``tlh serve`` (the app's clean-up runs)
and started again on the same data dir; the crash (kill -9) is the browser test's
(tests/e2e/test_restart_pages.py).
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tlh.domain.live_records import RoomRecord
from tlh.server.keys import AUDIT, ROOMS, STORE
from tlh.server.settings import Settings

from .call_helpers import cookie_headers, staff_cookie
from .conftest import Practice, make_practice, serve_app
from .outreach_helpers import add_appointment, add_client, origin
from .rooms_helpers import (
    Peer,
    admit,
    appointment_link,
    connect,
    guest_link,
    redeemed,
    room_entries,
    start_room_session,
)

pytestmark = pytest.mark.timeout(60)


async def restarted(practice: Practice, aiohttp_client: Any) -> Practice:
    """The same practice after its server was stopped and started on the same data dir."""
    await practice.client.close()
    client = await serve_app(aiohttp_client, Settings(data_dir=practice.data_dir, port=0))
    return replace(practice, client=client)


async def waiting(practice: Practice, url: str, device_id: str) -> tuple[str, Peer, dict[str, Any]]:
    cookie = await redeemed(practice, url)
    peer = await connect(practice, cookie)
    return cookie, peer, await peer.hello(device_id)


def stored_text(data_dir: Path) -> str:
    """Every file of the data dir, as text (journal, tables, audit log)."""
    return "\n".join(p.read_text(errors="replace") for p in data_dir.rglob("*") if p.is_file())


async def test_a_restart_keeps_cookies_entries_places_and_calls(
    tmp_path: Path, aiohttp_client: Any
) -> None:
    practice = await make_practice(tmp_path / "data", aiohttp_client)
    first_url = (await guest_link(practice))["url"]
    second_url = (await guest_link(practice))["url"]
    third_url = (await guest_link(practice))["url"]
    a_cookie, a, a_status = await waiting(practice, first_url, "dev_a")
    await a.send({"type": "device_check", "camera": "ok", "microphone": "denied"})
    b_cookie, b, b_status = await waiting(practice, second_url, "dev_b")
    c_cookie, c, c_status = await waiting(practice, third_url, "dev_c")
    sent = await practice.client.post(
        f"/api/v1/rooms/entries/{b_status['entry_id']}/message",
        headers=practice.auth("clinician"),
        json={"text": "Five more minutes"},
    )
    assert sent.status == 204
    await b.next("message")
    segment = await start_room_session(practice)
    status, _ = await admit(practice, c_status["entry_id"])
    assert status == 200
    admitted = await c.next("admitted")
    assert admitted["session_id"] == segment["id"]
    staff = await staff_cookie(practice)
    before = {e["id"]: e for e in await room_entries(practice)}
    assert before[a_status["entry_id"]]["device_check"]["microphone"] == "denied"
    for peer in (a, b, c):
        await peer.ws.close()

    practice = await restarted(practice, aiohttp_client)

    # Nobody has come back yet: the rooms are rebuilt from the store, everyone offline.
    after = {e["id"]: e for e in await room_entries(practice)}
    assert set(after) == set(before)
    assert all(not e["online"] for e in after.values())
    for entry_id, entry in before.items():
        for field in ("arrived_at", "state", "position", "device_check", "link_id"):
            assert after[entry_id][field] == entry[field], field
    assert after[a_status["entry_id"]]["position"] == 1
    assert after[b_status["entry_id"]]["position"] == 2

    # The pages come back with the cookies they had: same entries, same places.
    a2 = await connect(practice, a_cookie)
    again = await a2.hello("dev_a")
    assert (again["entry_id"], again["position"]) == (a_status["entry_id"], 1)
    b2 = await connect(practice, b_cookie)
    b_again = await b2.hello("dev_b")
    assert (b_again["entry_id"], b_again["position"]) == (b_status["entry_id"], 2)
    replayed = await b2.next("message")
    assert replayed["text"] == "Five more minutes"
    c2 = await connect(practice, c_cookie)
    await c2.send({"type": "hello", "device_id": "dev_c", "resume": segment["id"]})
    back_in = await c2.next("admitted")
    assert back_in["session_id"] == segment["id"]
    assert back_in["peer_id"] == c_status["entry_id"]
    now = {e["id"]: e for e in await room_entries(practice)}
    assert now[c_status["entry_id"]]["state"] == "admitted"
    assert sum(1 for e in now.values() if e["state"] == "admitted") == 1  # no second admission

    # The clinician's call page is still signed in.
    me = await practice.client.get("/api/v1/me", headers=cookie_headers(practice, staff))
    assert me.status == 200
    # Cookies are kept as hashes only.
    kept = stored_text(practice.data_dir)
    for cookie in (a_cookie, b_cookie, c_cookie, staff):
        assert cookie not in kept
    for peer in (a2, b2, c2):
        await peer.ws.close()


async def test_a_reconnect_writes_its_audit_line_but_not_the_entry_again(
    practice: Practice,
) -> None:
    cookie, peer, status = await waiting(practice, (await guest_link(practice))["url"], "dev_1")
    await peer.ws.close()
    again = await connect(practice, cookie)
    assert (await again.hello("dev_1"))["entry_id"] == status["entry_id"]
    path = practice.data_dir / "audit" / "audit.jsonl"
    log = practice.client.server.app[AUDIT]

    def entries() -> list[dict[str, Any]]:
        return [json.loads(line) for line in path.read_text().splitlines()]

    # The reconnect's line is written by the audit log's batch writer after the hello
    # is answered: wait for it (bounded), then count.
    async with asyncio.timeout(5):
        while not any(e["action"] == "room.reconnect" for e in entries()):
            await log.barrier()
            await asyncio.sleep(0.005)  # the room may not have queued its line yet
    joins = [e for e in entries() if e["action"] == "room.join"]
    reconnects = [e for e in entries() if e["action"] == "room.reconnect"]
    assert len(joins) == 1
    assert joins[0].get("commit")  # the entry written with its note
    assert len(reconnects) == 1
    assert not reconnects[0].get("commit")  # a presence blip: the audit line only
    await again.ws.close()


async def test_the_store_keeps_the_rooms_own_entry_not_a_copy(practice: Practice) -> None:
    """A waiting person's entry is held once: the record the store keeps for a restart
    is the rooms' own entry (``tlh.store.given``), until its presence differs."""
    _, peer, status = await waiting(practice, (await guest_link(practice))["url"], "dev_1")
    app = practice.client.server.app
    live = app[ROOMS].state.get(status["entry_id"])
    kept = await app[STORE].get(RoomRecord, status["entry_id"])
    assert live is not None
    assert kept is not None
    assert kept.entry is live
    await peer.ws.close()


async def test_the_line_is_ordered_by_who_is_due_and_next_takes_who_can_start(
    practice: Practice,
) -> None:
    # A practice that opens the waiting room two hours early: someone comes 50 minutes
    # early for a later visit, then the person due now arrives.
    status, made = await practice.call(
        "PATCH", "/api/v1/practice", json={"window_opens_before_min": 120}
    )
    assert status == 200, made
    now = datetime.now(UTC)
    early_client = await add_client(practice, name="Early Client", email="e@example.org")
    due_client = await add_client(practice, name="Due Client", email="d@example.org")
    later = await add_appointment(practice, early_client, start=now + timedelta(minutes=50))
    due = await add_appointment(practice, due_client, start=now)
    # Only the early client has consent: the person due now cannot start yet.
    status, _ = await practice.call(
        "POST", "/api/v1/consents/verbal", json={"client_id": early_client, "note": "ok"}
    )
    assert status == 201
    early_url = (await appointment_link(practice, later["id"]))["url"]
    _, early, early_status = await waiting(practice, early_url, "dev_e")
    assert early_status["position"] == 1
    due_url = (await appointment_link(practice, due["id"]))["url"]
    _, on_time, due_status = await waiting(practice, due_url, "dev_d")
    assert due_status["position"] == 1  # due now: ahead of the early arrival
    moved = await early.next("status")
    assert moved["position"] == 2
    entries = {e["id"]: e for e in await room_entries(practice)}
    assert entries[early_status["entry_id"]]["early"] is True
    assert entries[due_status["entry_id"]]["early"] is False
    # ``next`` admits the first whose session can start: not the first in line.
    status, admitted = await practice.call("POST", "/api/v1/rooms/next", role="clinician", json={})
    assert status == 200, admitted
    assert admitted["id"] == early_status["entry_id"]
    for peer in (early, on_time):
        await peer.ws.close()


async def test_a_passed_identity_check_outlives_a_restart(
    tmp_path: Path, aiohttp_client: Any
) -> None:
    practice = await make_practice(tmp_path / "data", aiohttp_client)
    status, _ = await practice.call("PATCH", "/api/v1/practice", json={"identity_check": "dob"})
    assert status == 200
    client_id = await add_client(practice, dob="1984-07-19")
    appt = await add_appointment(practice, client_id, start=datetime.now(UTC))
    cookie = await redeemed(practice, (await appointment_link(practice, appt["id"]))["url"])
    headers = {"Cookie": f"__Host-tlh_link={cookie}", "Origin": origin(practice)}
    passed = await practice.client.post(
        "/api/v1/link/identity", json={"dob": "1984-07-19"}, headers=headers
    )
    assert passed.status == 204

    practice = await restarted(practice, aiohttp_client)

    headers["Origin"] = origin(practice)
    state = await practice.client.get("/api/v1/link/state", headers=headers)
    assert (await state.json())["next"] != "identity"  # not asked again
    peer = await connect(practice, cookie)
    assert (await peer.hello("dev_1"))["state"] == "waiting"
    await peer.ws.close()
