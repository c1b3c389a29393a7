"""Starting, ending and listing session segments over the API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from . import rooms_helpers
from .call_helpers import CALL_LINK, eligible_appointment, next_frame, redeem_call
from .conftest import Practice
from .outreach_helpers import add_appointment, add_client


async def test_start_gives_a_segment_and_a_call_link(practice: Practice) -> None:
    appt_id = await eligible_appointment(practice)
    status, made = await practice.call(
        "POST", "/api/v1/sessions", role="clinician", json={"appointment_id": appt_id}
    )
    assert status == 201, made
    session = made["session"]
    assert session["appointment_id"] == appt_id
    assert session["clinician_id"] == practice.ids["clinician"]
    assert session["ended_at"] is None
    found = CALL_LINK.search(made["url"])
    assert found
    redeemed = await redeem_call(practice, found.group(1))
    assert (await redeemed.json())["appointment_id"] == appt_id
    status, again = await practice.call(
        "POST", "/api/v1/sessions", role="clinician", json={"appointment_id": appt_id}
    )
    assert status == 201
    assert again["session"]["id"] == session["id"]


async def test_an_ineligible_start_lists_every_reason(practice: Practice) -> None:
    client_id = await add_client(practice)
    later = datetime.now(UTC) + timedelta(days=2)
    appt = await add_appointment(practice, client_id, start=later, status="scheduled")
    status, err = await practice.call(
        "POST", "/api/v1/sessions", role="clinician", json={"appointment_id": appt["id"]}
    )
    assert status == 409
    assert err["error"]["code"] == "not_eligible"
    codes = {d["code"] for d in err["error"]["details"]}
    assert {"window_not_open", "status_not_allowed"} <= codes
    status, listed = await practice.call("GET", "/api/v1/sessions")
    assert (status, listed["items"]) == (200, [])


async def test_end_closes_the_segment_and_a_restart_opens_a_new_one(practice: Practice) -> None:
    appt_id = await eligible_appointment(practice)
    _, made = await practice.call(
        "POST", "/api/v1/sessions", role="clinician", json={"appointment_id": appt_id}
    )
    first = made["session"]["id"]
    status, ended = await practice.call("POST", f"/api/v1/sessions/{first}/end", role="clinician")
    assert status == 200, ended
    assert ended["ended_at"] is not None
    assert ended["ended_by"] == practice.ids["clinician"]
    _, restarted = await practice.call(
        "POST", "/api/v1/sessions", role="clinician", json={"appointment_id": appt_id}
    )
    assert restarted["session"]["id"] != first
    status, err = await practice.call("POST", "/api/v1/sessions/ses_nope/end")
    assert (status, err["error"]["code"]) == (404, "not_found")


async def test_room_sessions(practice: Practice) -> None:
    status, made = await practice.call(
        "POST", "/api/v1/sessions", role="clinician", json={"room": True}
    )
    assert status == 201, made
    assert made["session"]["appointment_id"] is None
    assert made["session"]["clinician_id"] == practice.ids["clinician"]
    status, err = await practice.call("POST", "/api/v1/sessions", json={"room": True})
    assert status == 404, err
    status, by_admin = await practice.call(
        "POST", "/api/v1/sessions", json={"room": True, "clinician": "lee@example.org"}
    )
    assert status == 201
    assert by_admin["session"]["id"] == made["session"]["id"]


async def test_bad_bodies_and_roles(practice: Practice) -> None:
    for bad in ({}, {"appointment_id": 3}, {"room": "yes"}, {"room": True, "appointment_id": "a"}):
        status, err = await practice.call("POST", "/api/v1/sessions", role="clinician", json=bad)
        assert (status, err["error"]["code"]) == (400, "bad_request"), bad
    status, err = await practice.call(
        "POST", "/api/v1/sessions", role="scheduler", json={"room": True}
    )
    assert status == 403
    status, err = await practice.call("GET", "/api/v1/sessions?date=tomorrow")
    assert (status, err["error"]["code"]) == (422, "invalid")


async def test_list_by_local_day_and_clinician(practice: Practice) -> None:
    _, made = await practice.call("POST", "/api/v1/sessions", role="clinician", json={"room": True})
    session_id = made["session"]["id"]
    status, today = await practice.call("GET", "/api/v1/sessions", role="scheduler")
    assert status == 200
    assert [s["id"] for s in today["items"]] == [session_id]
    started = datetime.fromisoformat(made["session"]["started_at"])
    local = started.astimezone(ZoneInfo("America/New_York"))
    on_day = f"/api/v1/sessions?date={local.date().isoformat()}&clinician=lee@example.org"
    _, found = await practice.call("GET", on_day)
    assert [s["id"] for s in found["items"]] == [session_id]
    next_day = (local.date() + timedelta(days=1)).isoformat()
    _, none = await practice.call("GET", f"/api/v1/sessions?date={next_day}")
    assert none["items"] == []
    _, other = await practice.call("GET", "/api/v1/sessions?clinician=admin@example.org")
    assert other["items"] == []


async def test_start_and_end_reach_the_waiting_room_and_the_call(practice: Practice) -> None:
    status, _ = await practice.call(
        "PATCH", "/api/v1/staff/lee@example.org", json={"waiting_room": False}
    )
    assert status == 200
    lee = await practice.client.ws_connect("/api/v1/call/ws", headers=practice.auth("clinician"))
    guest, first = await rooms_helpers.guest(practice)
    try:
        assert first["state"] == "waiting"
        assert (await next_frame(lee, "status"))["state"] == "no_session"
        _, made = await practice.call(
            "POST", "/api/v1/sessions", role="clinician", json={"room": True}
        )
        session_id = made["session"]["id"]
        # The waiting room is off: starting the session lets the guest straight in.
        admitted = await guest.next("admitted")
        assert admitted["session_id"] == session_id
        assert (await next_frame(lee, "admitted"))["session_id"] == session_id
        staff_id = practice.ids["clinician"]
        entry_id = admitted["peer_id"]
        await lee.send_json({"type": "signal", "to": entry_id, "data": {"candidate": None}})
        relayed = await guest.next("signal")
        assert relayed == {"type": "signal", "from": staff_id, "data": {"candidate": None}}
        status, _ = await practice.call(
            "POST", f"/api/v1/sessions/{session_id}/end", role="clinician"
        )
        assert status == 200
        assert await guest.next("ended") == {"type": "ended"}
        assert await next_frame(lee, "ended") == {"type": "ended"}
    finally:
        await lee.close()
        await guest.ws.close()
