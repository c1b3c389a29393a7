"""Headless participants against the real server: links, waiting room, admission, media.

Two participants (a client and their caregiver, one appointment) join through their
links exactly as the page does, wait, are admitted, connect to each other and
exchange frames both ways. Every wait is bounded.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.server.conftest import Practice, make_practice
from tlh.errors import TlhError
from tlh.media.participant import Participant

TOKEN_OF = "/j#"


@pytest.fixture
async def practice(tmp_path: Path, aiohttp_client: Any) -> Practice:
    return await make_practice(tmp_path / "data", aiohttp_client)


def server_url(practice: Practice) -> str:
    return str(practice.client.make_url("/")).rstrip("/")


async def two_links(practice: Practice) -> tuple[str, str, str]:
    """An appointment starting now for a client with a caregiver; both links' tokens."""
    status, _ = await practice.call("PATCH", "/api/v1/practice", json={"consent_required": False})
    assert status == 200
    status, client = await practice.call(
        "POST", "/api/v1/clients", json={"name": "Ana Client", "email": "ana@example.org"}
    )
    assert status == 201, client
    status, with_contact = await practice.call(
        "POST",
        f"/api/v1/clients/{client['id']}/contacts",
        json={"name": "Bo Carer", "email": "bo@example.org"},
    )
    assert status == 201, with_contact
    contact_id = with_contact["contacts"][0]["id"]
    status, made = await practice.call(
        "POST",
        "/api/v1/appointments",
        json={
            "client_ids": [client["id"]],
            "clinicians": ["lee@example.org"],
            "start": (datetime.now(UTC) - timedelta(minutes=1)).isoformat(),
            "duration_min": 50,
            "modality": "telehealth",
            "status": "confirmed",
        },
    )
    assert status == 201, made
    appt_id = made["items"][0]["id"]
    tokens = []
    for extra in ({}, {"contact_id": contact_id}):
        status, link = await practice.call(
            "POST", "/api/v1/invites/link", json={"appointment_id": appt_id, **extra}
        )
        assert status == 201, link
        tokens.append(link["url"].split(TOKEN_OF, 1)[1])
    return appt_id, tokens[0], tokens[1]


async def admit(practice: Practice, entry_id: str | None) -> dict[str, Any]:
    assert entry_id is not None
    status, entry = await practice.call(
        "POST", f"/api/v1/rooms/entries/{entry_id}/admit", role="clinician", json={}
    )
    assert status == 200, entry
    return dict(entry)


@pytest.fixture
async def pair(practice: Practice) -> AsyncIterator[tuple[Participant, Participant]]:
    _, client_token, carer_token = await two_links(practice)
    url = server_url(practice)
    first = Participant(url, link_token=client_token, device_id="dev-client")
    second = Participant(url, link_token=carer_token, device_id="dev-carer")
    try:
        yield first, second
    finally:
        await first.close()
        await second.close()


async def test_two_participants_admitted_connect_and_exchange_frames(
    practice: Practice, pair: tuple[Participant, Participant]
) -> None:
    first, second = pair
    await first.start()
    await second.start()
    await first.wait_state("waiting", within=5)
    await second.wait_state("waiting", within=5)
    assert first.entry_id is not None
    assert first.entry_id != second.entry_id

    await admit(practice, first.entry_id)
    await first.wait_state("admitted", "in_session", within=5)
    assert first.peers == {}  # nobody in the call yet: nothing to offer

    await admit(practice, second.entry_id)
    await second.wait_state("admitted", "in_session", within=5)
    await first.wait_connected(1, within=10)
    await second.wait_connected(1, within=10)
    assert second.admitted_at is not None
    both_connected = max(first.connected_at or 0, second.connected_at or 0)
    print(f"\nadmitted -> both connected: {(both_connected - second.admitted_at) * 1000:.0f} ms")

    await first.wait_frames(3, within=10)
    await second.wait_frames(3, within=10)
    link = first.peers[second.entry_id]
    assert link.state == "connected"
    assert link.frames_received["audio"] >= 3
    assert link.frames_received["video"] >= 3
    assert second.peers[first.entry_id].frames_sent > 0
    # The page reports its media: the server moves both entries into the session.
    await first.wait_state("in_session", within=5)


async def test_leaving_closes_the_other_side_leg(
    practice: Practice, pair: tuple[Participant, Participant]
) -> None:
    first, second = pair
    for p in pair:
        await p.start()
        await p.wait_state("waiting", within=5)
        await admit(practice, p.entry_id)
    await second.wait_connected(1, within=10)
    await second.leave()
    assert second.state == "left"
    await first.wait_for(lambda: first.peers == {}, 5, "the peer to leave")


async def test_a_bad_link_is_refused_with_the_one_answer(practice: Practice) -> None:
    participant = Participant(server_url(practice), link_token="x" * 43)
    try:
        with pytest.raises(TlhError, match="not valid"):
            await participant.start()
    finally:
        await participant.close()


async def test_waiting_is_bounded(practice: Practice) -> None:
    _, token, _ = await two_links(practice)
    async with Participant(server_url(practice), link_token=token) as participant:
        await participant.start()
        started = time.monotonic()
        with pytest.raises(TlhError, match=r"timed out after 0\.3 s"):
            await participant.wait_state("admitted", within=0.3)
        assert time.monotonic() - started < 2


async def test_the_clinician_joins_as_staff_and_the_admitted_client_calls_them(
    practice: Practice,
) -> None:
    appt_id, client_token, _ = await two_links(practice)
    status, started = await practice.call(
        "POST", "/api/v1/sessions", role="clinician", json={"appointment_id": appt_id}
    )
    assert status == 201, started
    url = server_url(practice)
    clinician = Participant(url, staff_token=practice.tokens["clinician"])
    client = Participant(url, link_token=client_token)
    try:
        await clinician.start()
        await clinician.wait_state("admitted", within=5)
        assert clinician.peer_id == practice.ids["clinician"]
        assert clinician.session_id == started["session"]["id"]

        await client.start()
        await client.wait_state("waiting", within=5)
        await admit(practice, client.entry_id)
        await client.wait_connected(1, within=10)
        await clinician.wait_frames(3, within=10)
        await client.wait_frames(3, within=10)
        assert list(client.peers) == [practice.ids["clinician"]]

        status, _ = await practice.call(
            "POST", f"/api/v1/sessions/{clinician.session_id}/end", role="clinician", json={}
        )
        assert status == 200
        await client.wait_state("ended", within=5)
        assert client.peers == {}
    finally:
        await client.close()
        await clinician.close()


async def test_a_bad_staff_token_is_refused_before_the_upgrade(practice: Practice) -> None:
    participant = Participant(server_url(practice), staff_token="tlh_not_a_token")
    try:
        with pytest.raises(TlhError, match="refused the call socket"):
            await participant.start()
    finally:
        await participant.close()
