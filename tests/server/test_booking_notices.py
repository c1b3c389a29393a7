"""What booking and changing an appointment tell its people: the invitation on creation
(issue 18, item 7), converting it to in person or telehealth (item 4), and its
clinician's availability (item 8)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tlh.server.keys import REMINDER_CLOCK

from .conftest import Practice
from .outreach_helpers import add_appointment, add_client, delivered_token, redeem

DAY = datetime(2031, 4, 15, 14, 0, tzinfo=UTC)  # a Tuesday, 10:00 in New York


async def outbox(practice: Practice) -> list[dict[str, Any]]:
    status, found = await practice.call("GET", "/api/v1/outbox")
    assert status == 200, found
    return list(found["items"])


async def book(practice: Practice, query: str = "", **fields: Any) -> tuple[int, Any]:
    body = {
        "clinicians": ["lee@example.org"],
        "start": DAY.isoformat(),
        "duration_min": 50,
        "modality": "telehealth",
        "status": "confirmed",
        **fields,
    }
    return await practice.call("POST", "/api/v1/appointments" + query, json=body)


async def add_contact(practice: Practice, client_id: str, **fields: Any) -> str:
    status, made = await practice.call(
        "POST", f"/api/v1/clients/{client_id}/contacts", json={"name": "Carer", **fields}
    )
    assert status == 201, made
    return str(next(c["id"] for c in made["contacts"] if c["name"] == "Carer"))


# -- the invitation on creation ----------------------------------------------------


async def test_booking_a_telehealth_visit_invites_the_client_and_email_contacts(
    practice: Practice,
) -> None:
    client_id = await add_client(practice)
    carer = await add_contact(practice, client_id, email="carer@example.org", reminders=["email"])
    # A contact who asked for texts only is not emailed an invitation.
    await practice.call(
        "POST",
        f"/api/v1/clients/{client_id}/contacts",
        json={"name": "Texter", "phone": "+14155552671", "reminders": ["sms"]},
    )
    status, booked = await book(practice, client_ids=[client_id])
    assert status == 201, booked
    appt_id = booked["items"][0]["id"]
    assert booked["warnings"] == []
    assert sorted(
        (m["kind"], m["channel"], m["client_id"], m["contact_id"] or "") for m in booked["messages"]
    ) == sorted([("invitation", "email", client_id, ""), ("invitation", "email", client_id, carer)])
    queued = await outbox(practice)
    assert sorted(m["to"] for m in queued) == ["ana@example.org", "carer@example.org"]
    assert {m["appointment_id"] for m in queued} == {appt_id}
    assert all(m["kind"] == "invitation" and m["link_id"] for m in queued)
    assert (await redeem(practice, await delivered_token(practice, queued[0]["id"]))).status == 200
    # The appointment, its links and its messages were one write, audited together.
    _, log = await practice.call("GET", "/api/v1/audit")
    actions = {e["action"] for e in log["items"] if e["target"] in {appt_id, queued[0]["id"]}}
    assert {"appointment.create", "message.queue"} <= actions


async def test_no_invitation_when_the_policy_or_the_booking_says_so(practice: Practice) -> None:
    client_id = await add_client(practice)
    status, quiet = await book(practice, "?notify=0", client_ids=[client_id])
    assert status == 201, quiet
    assert quiet["messages"] == []
    status, in_person = await book(
        practice,
        client_ids=[client_id],
        modality="in_person",
        start=(DAY + timedelta(hours=2)).isoformat(),
    )
    assert status == 201, in_person
    assert in_person["messages"] == []
    status, _ = await practice.call("PATCH", "/api/v1/practice", json={"invite_on_create": False})
    assert status == 200
    status, off = await book(
        practice, client_ids=[client_id], start=(DAY + timedelta(hours=4)).isoformat()
    )
    assert status == 201, off
    assert off["messages"] == []
    assert await outbox(practice) == []


async def test_a_series_invites_its_first_occurrence_only(practice: Practice) -> None:
    client_id = await add_client(practice)
    status, booked = await book(practice, client_ids=[client_id], rrule="FREQ=WEEKLY;COUNT=4")
    assert status == 201, booked
    first = booked["items"][0]["id"]
    assert len(booked["items"]) == 4
    assert [(m["kind"], m["appointment_id"]) for m in booked["messages"]] == [("invitation", first)]
    assert [m["appointment_id"] for m in await outbox(practice)] == [first]


async def test_a_client_without_email_is_booked_with_a_warning(practice: Practice) -> None:
    client_id = await add_client(practice, email=None)
    status, booked = await book(practice, client_ids=[client_id])
    assert status == 201, booked
    assert booked["messages"] == []
    [warning] = booked["warnings"]
    assert warning["code"] == "not_invited"
    assert warning["appointment_id"] == booked["items"][0]["id"]
    assert f"client {client_id} has no email address" in warning["message"]
    # ... and a visit that cannot take place by video is booked, not invited, with why.
    await practice.call("PATCH", "/api/v1/staff/lee@example.org", json={"telehealth": False})
    other = await add_client(practice, name="Bea", email="bea@example.org")
    status, booked = await book(
        practice, client_ids=[other], start=(DAY + timedelta(hours=2)).isoformat()
    )
    assert status == 201, booked
    assert booked["messages"] == []
    assert "cannot take place by video" in booked["warnings"][0]["message"]


async def test_an_invitation_at_booking_stands_in_for_the_day_before_reminder(
    practice: Practice,
) -> None:
    """Booked tonight for tomorrow morning: the invitation goes, and no reminder_24h a
    minute later (issue 20, item 10: imports 'sent reminder_24h emails at once')."""
    client_id = await add_client(practice)
    start = datetime.now(UTC) + timedelta(hours=3)
    status, booked = await book(practice, client_ids=[client_id], start=start.isoformat())
    assert status == 201, booked
    assert [m["kind"] for m in booked["messages"]] == ["invitation"]
    clock = practice.client.app[REMINDER_CLOCK]
    assert await clock.tick(datetime.now(UTC)) == []
    # Its soon reminder still comes when it is due.
    soon = await clock.tick(start - timedelta(minutes=20))
    assert [m.kind.value for m in soon] == ["reminder_soon"]


# -- converting a visit --------------------------------------------------------------


async def test_converting_to_in_person_kills_the_link_and_tells_the_client(
    practice: Practice,
) -> None:
    client_id = await add_client(practice)
    appt = await add_appointment(practice, client_id, start=DAY)
    _, sent = await practice.call("POST", "/api/v1/invites", json={"appointment_id": appt["id"]})
    token = await delivered_token(practice, sent["messages"][0]["id"])
    assert (await redeem(practice, token)).status == 200  # early, but genuine
    status, changed = await practice.call(
        "PATCH", f"/api/v1/appointments/{appt['id']}", json={"modality": "in_person"}
    )
    assert status == 200, changed
    assert (await redeem(practice, token)).status == 404
    told = (await outbox(practice))[-1]
    assert (told["kind"], told["to"], told["link_id"]) == ("in_person", "ana@example.org", None)
    assert "/j#" not in told["text"]
    assert "now takes place in person" in told["text"]
    assert "Video appointment" not in told["ics"]
    _, links = await practice.call("GET", f"/api/v1/appointments/{appt['id']}/links")
    assert all(link["revoked_at"] for link in links["items"])

    # Back to telehealth: the client is invited again, with a link that works.
    status, _ = await practice.call(
        "PATCH", f"/api/v1/appointments/{appt['id']}", json={"modality": "telehealth"}
    )
    assert status == 200
    invited = (await outbox(practice))[-1]
    assert (invited["kind"], invited["to"]) == ("invitation", "ana@example.org")
    assert (await redeem(practice, await delivered_token(practice, invited["id"]))).status == 200


async def test_a_corrected_modality_tells_nobody(practice: Practice) -> None:
    client_id = await add_client(practice)
    appt = await add_appointment(practice, client_id, start=DAY)
    _, sent = await practice.call("POST", "/api/v1/invites", json={"appointment_id": appt["id"]})
    token = await delivered_token(practice, sent["messages"][0]["id"])
    path = f"/api/v1/appointments/{appt['id']}?notify=0"
    status, _ = await practice.call("PATCH", path, json={"modality": "in_person"})
    assert status == 200
    assert (await redeem(practice, token)).status == 404  # a dead link never lingers
    status, _ = await practice.call("PATCH", path, json={"modality": "telehealth"})
    assert status == 200
    assert [m["kind"] for m in await outbox(practice)] == ["invitation"]  # the first only


async def test_a_corrected_time_keeps_the_link_working_at_the_new_time(
    practice: Practice,
) -> None:
    client_id = await add_client(practice)
    start = datetime.now(UTC) + timedelta(hours=5)
    appt = await add_appointment(practice, client_id, start=start)
    _, sent = await practice.call("POST", "/api/v1/invites", json={"appointment_id": appt["id"]})
    token = await delivered_token(practice, sent["messages"][0]["id"])
    assert (await (await redeem(practice, token)).json())["state"] == "early"
    now = datetime.now(UTC) + timedelta(minutes=5)
    status, _ = await practice.call(
        "PATCH",
        f"/api/v1/appointments/{appt['id']}?notify=0",
        json={"start": now.isoformat()},
    )
    assert status == 200
    assert [m["kind"] for m in await outbox(practice)] == ["invitation"]
    answer = await redeem(practice, token)
    assert answer.status == 200
    assert (await answer.json())["state"] == "ok"  # its window follows the new time


# -- availability ----------------------------------------------------------------


async def test_a_booking_outside_availability_is_warned_of_refused_when_strict_and_explained(
    practice: Practice,
) -> None:
    for mode, start, end in (
        ("in_person", "09:00", "10:00"),
        ("telehealth_only", "10:00", "12:00"),
    ):
        status, made = await practice.call(
            "POST",
            "/api/v1/availability",
            json={"clinician": "lee@example.org", "weekday": "tue", "start_local": start,
                  "end_local": end, "mode": mode},
        )  # fmt: skip
        assert status == 201, made
    client_id = await add_client(practice)
    # 10:00 Tuesday in New York is telehealth only: an in-person visit is warned of.
    status, booked = await book(practice, "?notify=0", client_ids=[client_id], modality="in_person")
    assert status == 201, booked
    [warning] = booked["warnings"]
    assert warning["code"] == "availability_mode"
    assert warning["message"] == (
        "Clinician sees clients only by video at 2031-04-15 10:00; this visit is in person"
    )
    appt_id = booked["items"][0]["id"]
    status, verdict = await practice.call("GET", f"/api/v1/appointments/{appt_id}/eligibility")
    assert status == 200
    assert [w["code"] for w in verdict["warnings"]] == ["availability_mode"]

    # Strict: refused, and nothing stored.
    late = (DAY + timedelta(hours=6)).isoformat()  # 16:00: outside every block
    status, refused = await book(
        practice, "?notify=0&strict_availability=1", client_ids=[client_id], start=late
    )
    assert status == 409, refused
    assert refused["error"]["code"] == "outside_availability"
    assert refused["error"]["message"] == (
        "2031-04-15 16:00 is outside Clinician's availability; nothing was booked"
    )
    _, day = await practice.call("GET", "/api/v1/appointments?date=2031-04-15")
    assert [a["id"] for a in day["items"]] == [appt_id]
    # Inside its block, a telehealth visit is booked without a word.
    status, fine = await book(
        practice, "?notify=0&strict_availability=1", client_ids=[client_id],
        start=(DAY + timedelta(hours=1)).isoformat(),
    )  # fmt: skip
    assert status == 201, fine
    assert fine["warnings"] == []


async def test_a_yes_no_flag_takes_yes_or_no_only(practice: Practice) -> None:
    client_id = await add_client(practice)
    status, error = await book(practice, "?notify=maybe", client_ids=[client_id])
    assert status == 400
    assert error["error"]["message"] == "notify takes 1 or 0"
