"""Confirm and Cancel from the client portal (issue 13 item 4): the same services as the
reminder's one-tap links (late cancellation, audit, the staff's events), scoped by the
person signed in (a caregiver's other clients are 404), Origin checked on every POST."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp

from .conftest import Practice
from .outreach_helpers import add_appointment, add_client, add_clinician
from .portal_helpers import headers, signed_in


async def _press(practice: Practice, cookie: str, appt_id: str, action: str) -> Any:
    answer = await practice.client.post(
        f"/api/v1/portal/appointments/{appt_id}/{action}", headers=headers(practice, cookie)
    )
    return answer.status, await answer.json()


async def _listed(practice: Practice, cookie: str) -> dict[str, dict[str, Any]]:
    answer = await practice.client.get(
        "/api/v1/portal/appointments", headers=headers(practice, cookie)
    )
    assert answer.status == 200
    return {a["id"]: a for a in (await answer.json())["items"]}


async def _event(ws: aiohttp.ClientWebSocketResponse, kind: str) -> dict[str, Any]:
    async with asyncio.timeout(5):
        while True:
            msg = await ws.receive()
            assert msg.type == aiohttp.WSMsgType.TEXT, msg
            event = json.loads(msg.data)
            if event["type"] == kind:
                return dict(event["data"])


async def _audit(practice: Practice, action: str) -> list[tuple[str, str]]:
    status, log = await practice.call("GET", "/api/v1/audit")
    assert status == 200
    return [(e["actor"]["kind"], e["actor"]["id"]) for e in log["items"] if e["action"] == action]


async def test_a_client_confirms_then_cancels_and_staff_hear_both(practice: Practice) -> None:
    client_id = await add_client(practice)
    start = datetime.now(UTC) + timedelta(days=3)
    appt = await add_appointment(practice, client_id, start, status="scheduled")
    cookie = await signed_in(practice, "ana@example.org")
    shown = (await _listed(practice, cookie))[appt["id"]]
    assert (shown["can_confirm"], shown["can_cancel"]) == (True, True)
    late_from = datetime.fromisoformat(shown["late_cancel_from"])
    assert late_from == datetime.fromisoformat(appt["start"]) - timedelta(hours=24)

    async with practice.client.ws_connect(
        "/api/v1/events", headers=practice.auth("scheduler")
    ) as ws:
        await _event(ws, "events.ready")
        status, done = await _press(practice, cookie, appt["id"], "confirm")
        assert (status, done["status"], done["can_confirm"]) == (200, "confirmed", False)
        heard = await _event(ws, "appointment.confirmed")
        assert (heard["id"], heard["by"], heard["client_id"]) == (appt["id"], "client", client_id)
        # Confirming twice changes nothing and says why.
        status, again = await _press(practice, cookie, appt["id"], "confirm")
        assert (status, again["error"]["details"]["reason"]) == (409, "confirmed")

        status, done = await _press(practice, cookie, appt["id"], "cancel")
        assert (status, done["status"], done["can_cancel"]) == (200, "cancelled", False)
        heard = await _event(ws, "appointment.cancelled")
        assert (heard["id"], heard["late"], heard["by"]) == (appt["id"], False, "client")
    assert await _audit(practice, "appointment.status.confirmed") == [("client", client_id)]
    assert await _audit(practice, "appointment.status.cancelled") == [("client", client_id)]


async def test_inside_late_cancel_hours_it_is_a_late_cancellation(practice: Practice) -> None:
    client_id = await add_client(practice)
    appt = await add_appointment(practice, client_id, datetime.now(UTC) + timedelta(hours=5))
    cookie = await signed_in(practice, "ana@example.org")
    shown = (await _listed(practice, cookie))[appt["id"]]
    assert datetime.fromisoformat(shown["late_cancel_from"]) < datetime.now(UTC)
    assert (shown["can_confirm"], shown["can_cancel"]) == (False, True)  # confirmed already
    status, done = await _press(practice, cookie, appt["id"], "cancel")
    assert (status, done["status"]) == (200, "late_cancelled")
    status, refused = await _press(practice, cookie, appt["id"], "cancel")
    assert (status, refused["error"]["details"]["reason"]) == (409, "cancelled")


async def test_a_cancelled_appointment_cannot_be_confirmed(practice: Practice) -> None:
    client_id = await add_client(practice)
    start = datetime.now(UTC) + timedelta(days=2)
    appt = await add_appointment(practice, client_id, start, status="scheduled")
    cookie = await signed_in(practice, "ana@example.org")
    assert (await _press(practice, cookie, appt["id"], "cancel"))[0] == 200
    status, refused = await _press(practice, cookie, appt["id"], "confirm")
    assert (status, refused["error"]["details"]["reason"]) == (409, "cancelled")
    shown = (await _listed(practice, cookie))[appt["id"]]
    assert (shown["status"], shown["can_confirm"], shown["can_cancel"]) == (
        "cancelled",
        False,
        False,
    )
    assert shown.get("late_cancel_from") is None
    status, stored = await practice.call("GET", f"/api/v1/appointments/{appt['id']}")
    assert (status, stored["status"]) == (200, "cancelled")


async def test_a_caregiver_acts_for_their_client_only(practice: Practice) -> None:
    child = await add_client(practice, name="Kid Client", email="kid@example.org")
    other = await add_client(practice, name="Other Client", email="other@example.org")
    status, made = await practice.call(
        "POST",
        f"/api/v1/clients/{child}/contacts",
        json={"name": "Pat Parent", "email": "pat@example.org", "portal": True},
    )
    assert status == 201, made
    contact_id = made["contacts"][-1]["id"]
    start = datetime.now(UTC) + timedelta(days=2)
    mine = await add_appointment(practice, child, start, status="scheduled")
    await add_clinician(practice)
    theirs = await add_appointment(
        practice, other, start, status="scheduled", clinicians=["kim@example.org"]
    )
    cookie = await signed_in(practice, "pat@example.org")
    for action in ("confirm", "cancel"):
        refused = await _press(practice, cookie, theirs["id"], action)
        missing = await _press(practice, cookie, "apt_doesnotexist", action)
        assert refused[0] == missing[0] == 404
        assert refused[1] == missing[1]  # nothing said of someone else's client
    status, stored = await practice.call("GET", f"/api/v1/appointments/{theirs['id']}")
    assert (status, stored["status"]) == (200, "scheduled")
    async with practice.client.ws_connect(
        "/api/v1/events", headers=practice.auth("scheduler")
    ) as ws:
        await _event(ws, "events.ready")
        status, done = await _press(practice, cookie, mine["id"], "confirm")
        assert (status, done["status"], done["client_id"]) == (200, "confirmed", child)
        heard = await _event(ws, "appointment.confirmed")
        assert (heard["by"], heard["client_id"], heard["contact_id"]) == (
            "contact",
            child,
            contact_id,
        )
    assert await _audit(practice, "appointment.status.confirmed") == [("contact", contact_id)]


async def test_every_post_checks_origin_and_the_session(practice: Practice) -> None:
    client_id = await add_client(practice)
    start = datetime.now(UTC) + timedelta(days=2)
    appt = await add_appointment(practice, client_id, start, status="scheduled")
    cookie = await signed_in(practice, "ana@example.org")
    jar = {"Cookie": f"__Host-tlh_portal={cookie}"}
    for action in ("confirm", "cancel"):
        path = f"/api/v1/portal/appointments/{appt['id']}/{action}"
        for sent in ({"Origin": "https://evil.example"}, {}):
            answer = await practice.client.post(path, headers={**sent, **jar})
            assert answer.status == 403, (action, sent)
        signed_out = await practice.client.post(path, headers=headers(practice))
        assert signed_out.status == 401
    status, stored = await practice.call("GET", f"/api/v1/appointments/{appt['id']}")
    assert (status, stored["status"]) == (200, "scheduled")  # nothing changed
