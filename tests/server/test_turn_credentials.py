"""Per-participant TURN credentials (issue 14 item 2): with ``[turn] secret`` and ``urls``
each page gets a TURN entry minted for it alone (TURN REST API scheme: ``EXPIRY:ID``, base64
HMAC-SHA1), expiring after its visit; fixed ``[rooms] ice_servers`` still go out as they are.
coturn's acceptance of them is checked in tests/doctor (and used in tests/netns)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from .call_helpers import cookie_headers, next_frame, staff_cookie
from .conftest import Practice, make_practice
from .outreach_helpers import add_appointment, add_client, origin
from .rooms_helpers import admit, appointment_link, guest, redeemed, start_room_session

SECRET = "s3cret-shared-with-coturn"
URLS = ("turn:turn.example.org:3478?transport=udp", "turns:turn.example.org:443?transport=tcp")
STUN = {"urls": ["stun:stun.example.org:3478"]}


@pytest.fixture
async def turn_practice(tmp_path: Path, aiohttp_client: Any) -> Practice:
    return await make_practice(
        tmp_path / "data",
        aiohttp_client,
        ice_servers=(STUN,),
        turn_urls=URLS,
        turn_secret=SECRET,
        turn_ttl_s=600,
    )


def minted(servers: list[dict[str, Any]]) -> dict[str, Any]:
    """The minted TURN entry, checked against the secret as coturn checks it."""
    assert servers[0] == STUN  # fixed entries first, unchanged
    (turn,) = [s for s in servers if "username" in s]
    assert turn["urls"] == list(URLS)
    digest = hmac.new(SECRET.encode(), turn["username"].encode(), hashlib.sha1).digest()
    assert turn["credential"] == base64.b64encode(digest).decode()
    return turn


async def _link_state(practice: Practice, cookie: str) -> dict[str, Any]:
    headers = {"Cookie": f"__Host-tlh_link={cookie}", "Origin": origin(practice)}
    response = await practice.client.get("/api/v1/link/state", headers=headers)
    assert response.status == 200
    return dict(await response.json())


async def test_each_link_gets_its_own_credential_lasting_past_its_visit_only(
    turn_practice: Practice, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    practice = turn_practice
    client_id = await add_client(practice)
    start = datetime.now(UTC) + timedelta(minutes=5)
    appt = await add_appointment(practice, client_id, start=start)
    made = [await appointment_link(practice, appt["id"]) for _ in range(2)]
    states = [await _link_state(practice, await redeemed(practice, m["url"])) for m in made]
    creds = [minted(s["ice_servers"]) for s in states]
    for cred, link in zip(creds, made, strict=True):
        expires, who = cred["username"].split(":", 1)
        assert who == link["link"]["id"]  # the link's id: no name, no token
        end = datetime.fromisoformat(states[0]["ends_at"]).timestamp()
        assert end + 600 - 5 <= int(expires) <= end + 600 + 5  # the visit's end + ttl_s
    assert creds[0]["credential"] != creds[1]["credential"]
    assert SECRET not in caplog.text
    assert all(c["credential"] not in caplog.text for c in creds)


async def test_admission_mints_for_the_entry_and_a_room_visit_lasts_ttl_s(
    turn_practice: Practice, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    practice = turn_practice
    await start_room_session(practice)
    peer, status = await guest(practice)
    code, view = await admit(practice, status["entry_id"])
    assert code == 200, view
    frame = await peer.next("admitted")
    cred = minted(frame["ice_servers"])
    expires, who = cred["username"].split(":", 1)
    assert who == status["entry_id"]
    assert time.time() + 600 - 5 <= int(expires) <= time.time() + 600 + 5  # no end: ttl_s
    assert cred["credential"] not in caplog.text


async def test_without_a_secret_pages_get_the_fixed_entries_only(
    tmp_path: Path, aiohttp_client: Any
) -> None:
    # [turn] urls without a secret: nothing minted (tlh doctor fails it, naming the secret).
    practice = await make_practice(
        tmp_path / "data", aiohttp_client, ice_servers=(STUN,), turn_urls=URLS
    )
    client_id = await add_client(practice)
    appt = await add_appointment(practice, client_id, start=datetime.now(UTC))
    cookie = await redeemed(practice, (await appointment_link(practice, appt["id"]))["url"])
    assert (await _link_state(practice, cookie))["ice_servers"] == [STUN]


async def test_the_staff_call_page_gets_its_own_credential(turn_practice: Practice) -> None:
    practice = turn_practice
    headers = cookie_headers(practice, await staff_cookie(practice))
    async with practice.client.ws_connect("/api/v1/call/ws", headers=headers) as ws:
        assert (await next_frame(ws, "status"))["state"] == "no_session"
        made = await practice.client.post("/api/v1/sessions", json={"room": True}, headers=headers)
        assert made.status == 201
        cred = minted((await next_frame(ws, "admitted"))["ice_servers"])
    expires, who = cred["username"].split(":", 1)
    assert who == practice.ids["clinician"]
    assert time.time() + 600 - 5 <= int(expires) <= time.time() + 600 + 5
