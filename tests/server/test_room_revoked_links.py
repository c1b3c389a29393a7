"""A link revoked while its holder waits or talks (an admin, a cancel, a reschedule)
sends them away at once: the page is told why, the call is left, the room is empty,
and the same socket cannot say hello again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from .conftest import Practice
from .outreach_helpers import add_appointment, add_client
from .rooms_helpers import (
    Peer,
    admit,
    appointment_link,
    arrive,
    events,
    guest_link,
    room_entries,
    start_room_session,
)


async def _waiting_guest(practice: Practice) -> tuple[Peer, str, str]:
    """A guest waiting in Lee's room: socket, entry id, link id."""
    made = await guest_link(practice)
    peer, first = await arrive(practice, made["url"])
    return peer, first["entry_id"], made["link"]["id"]


async def _waiting_client(practice: Practice) -> tuple[Peer, str, str]:
    """A client waiting for an appointment starting now: socket, entry, appointment."""
    client_id = await add_client(practice)
    status, _ = await practice.call(
        "POST", "/api/v1/consents/verbal", json={"client_id": client_id, "note": "by phone"}
    )
    assert status == 201
    appt = await add_appointment(practice, client_id, start=datetime.now(UTC))
    peer, first = await arrive(practice, (await appointment_link(practice, appt["id"]))["url"])
    return peer, first["entry_id"], str(appt["id"])


async def test_revoking_a_waiting_guests_link_sends_them_away(practice: Practice) -> None:
    stream = await events(practice)
    other, other_entry, _ = await _waiting_guest(practice)
    peer, entry_id, link_id = await _waiting_guest(practice)
    status, _ = await practice.call("POST", f"/api/v1/links/{link_id}/revoke")
    assert status == 200
    await peer.next("status", state="revoked")
    left = await stream.next("room.left", entry_id=entry_id)
    assert left["reason"] == "link_revoked"
    assert [e["id"] for e in await room_entries(practice)] == [other_entry]
    # The same socket cannot come back in with the revoked link.
    await peer.send({"type": "hello", "device_id": "dev_1"})
    assert await peer.closed() == 1008
    status, audit = await practice.call("GET", "/api/v1/audit?action=room.leave")
    assert status == 200
    assert entry_id in [e["target"] for e in audit["items"]]
    await other.ws.close()


async def test_revoking_takes_a_guest_out_of_the_call(practice: Practice) -> None:
    session = await start_room_session(practice)
    lee = Peer(
        await practice.client.ws_connect(
            f"/api/v1/call/ws?session={session['id']}", headers=practice.auth("clinician")
        )
    )
    await lee.next("admitted")
    peer, entry_id, link_id = await _waiting_guest(practice)
    code, view = await admit(practice, entry_id, into=session["id"])
    assert code == 200, view
    await peer.next("admitted")
    await lee.next("peer.joined", peer_id=entry_id)
    status, _ = await practice.call("POST", f"/api/v1/links/{link_id}/revoke")
    assert status == 200
    await peer.next("status", state="revoked")
    await lee.next("peer.left", peer_id=entry_id)
    assert await room_entries(practice) == []
    await lee.ws.close()


async def test_cancelling_sends_the_waiting_client_away(practice: Practice) -> None:
    peer, _, appt_id = await _waiting_client(practice)
    status, _ = await practice.call("POST", f"/api/v1/appointments/{appt_id}/cancel")
    assert status == 200
    told = await peer.next("status", state="revoked")
    assert told["reason"] == "cancelled"  # the page says why, not just that it changed
    assert await room_entries(practice) == []


async def test_resending_a_link_keeps_its_holders_visit(practice: Practice) -> None:
    """A resend replaces the link (the old one stops working) but the person already
    in the waiting room is the same person: they stay."""
    stream = await events(practice)
    peer, entry_id, appt_id = await _waiting_client(practice)
    _, links = await practice.call("GET", f"/api/v1/appointments/{appt_id}/links")
    [link] = links["items"]
    status, resent = await practice.call("POST", f"/api/v1/links/{link['id']}/resend")
    assert status == 201, resent
    # A later revoke of another link does not send this holder away either.
    other, other_entry, other_link = await _waiting_guest(practice)
    await practice.call("POST", f"/api/v1/links/{other_link}/revoke")
    await stream.next("room.left", entry_id=other_entry)
    assert [e["id"] for e in await room_entries(practice)] == [entry_id]
    assert not peer.ws.closed
    await other.ws.close()


async def test_rescheduling_sends_the_waiting_client_to_the_new_link(practice: Practice) -> None:
    peer, _, appt_id = await _waiting_client(practice)
    later = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    status, _ = await practice.call(
        "PATCH", f"/api/v1/appointments/{appt_id}", json={"start": later}
    )
    assert status == 200
    await peer.next("status", state="revoked")
    assert await room_entries(practice) == []
