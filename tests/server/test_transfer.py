"""A transfer leads somewhere: the receiving clinician can let the client in and hold
the visit, whether the client was waiting or already in the call (issue 18, item 3)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from .conftest import Practice
from .outreach_helpers import add_appointment, add_client, add_clinician
from .rooms_helpers import Peer, act, admit, appointment_link, arrive


async def kims_client_waiting(practice: Practice) -> tuple[Peer, str, str, dict[str, Any]]:
    """Kim (a second clinician) and her client waiting for a visit starting now: the
    client's socket, entry id, appointment id, and Kim (staff and token)."""
    kim = await add_clinician(practice)
    practice.tokens["kim"] = kim["token"]
    client_id = await add_client(practice)
    status, _ = await practice.call(
        "POST", "/api/v1/consents/verbal", json={"client_id": client_id, "note": "by phone"}
    )
    assert status == 201
    appt = await add_appointment(
        practice, client_id, start=datetime.now(UTC), clinicians=["kim@example.org"]
    )
    peer, first = await arrive(practice, (await appointment_link(practice, appt["id"]))["url"])
    assert first["state"] == "waiting"
    return peer, first["entry_id"], str(appt["id"]), kim


async def segments_of(practice: Practice, appt_id: str) -> list[dict[str, Any]]:
    status, found = await practice.call("GET", "/api/v1/sessions")
    assert status == 200, found
    return [s for s in found["items"] if s["appointment_id"] == appt_id]


async def test_the_receiving_clinician_lets_a_transferred_client_in(practice: Practice) -> None:
    peer, entry_id, appt_id, kim = await kims_client_waiting(practice)
    status, moved = await act(practice, "transfer", entry_id, "kim", to="lee@example.org")
    assert status == 200, moved
    assert moved["clinician_id"] == practice.ids["clinician"]
    # Lee (not booked on the visit) lets the client in: the visit is his now.
    status, admitted = await admit(practice, entry_id)
    assert status == 200, admitted
    assert admitted["state"] == "admitted"
    await peer.next("admitted")
    [segment] = await segments_of(practice, appt_id)
    assert segment["clinician_id"] == practice.ids["clinician"]
    _, appt = await practice.call("GET", f"/api/v1/appointments/{appt_id}")
    assert appt["clinician_ids"] == [kim["staff"]["id"], practice.ids["clinician"]]
    _, log = await practice.call("GET", "/api/v1/audit")
    granted = [e for e in log["items"] if e["action"] == "appointment.transfer"]
    assert [(e["actor"]["id"], e["target"]) for e in granted] == [
        (kim["staff"]["id"], appt_id),
        (kim["staff"]["id"], practice.ids["clinician"]),
    ]
    await peer.ws.close()


async def test_someone_already_in_the_call_is_transferred_too(practice: Practice) -> None:
    peer, entry_id, appt_id, _ = await kims_client_waiting(practice)
    status, admitted = await admit(practice, entry_id, "kim")
    assert status == 200, admitted
    await peer.next("admitted")
    [kims] = await segments_of(practice, appt_id)

    status, moved = await act(practice, "transfer", entry_id, "kim", to="lee@example.org")
    assert status == 200, moved
    # Out of Kim's call, first in Lee's line.
    assert (moved["state"], moved["position"]) == ("waiting", 1)
    await peer.next("status", state="waiting", clinician_name="Clinician")
    # Kim's session of the visit, with no one left to see, is over.
    [ended] = [s for s in await segments_of(practice, appt_id) if s["id"] == kims["id"]]
    assert ended["ended_at"] is not None

    status, again = await admit(practice, entry_id)
    assert status == 200, again
    frame = await peer.next("admitted")
    segments = await segments_of(practice, appt_id)
    [lees] = [s for s in segments if s["ended_at"] is None]
    assert frame["session_id"] == lees["id"] != kims["id"]
    assert lees["clinician_id"] == practice.ids["clinician"]
    await peer.ws.close()


async def test_a_transfer_to_someone_who_cannot_hold_the_visit_is_refused(
    practice: Practice,
) -> None:
    peer, entry_id, _, _ = await kims_client_waiting(practice)
    status, error = await act(practice, "transfer", entry_id, "kim", to="desk@example.org")
    assert status == 422, error
    assert error["error"]["message"].endswith("is not an active clinician")
    await practice.call("PATCH", "/api/v1/staff/lee@example.org", json={"telehealth": False})
    status, error = await act(practice, "transfer", entry_id, "kim", to="lee@example.org")
    assert status == 422, error
    assert "telehealth is not enabled" in error["error"]["message"]
    await peer.ws.close()
