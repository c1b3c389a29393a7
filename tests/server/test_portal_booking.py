"""Self-scheduling on the client portal (issue 13 item 5): whom a client may book, open
slots, a booking (one winner of two sessions booking one slot at once), asking to move a
visit; scoped by the person signed in, Origin checked, off unless the practice allows."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from .conftest import Practice
from .outreach_helpers import add_appointment, add_client, add_clinician
from .portal_helpers import headers, signed_in

ZONE = ZoneInfo("America/New_York")  # the test practice's


def _day(days: int = 3) -> date:
    return (datetime.now(UTC) + timedelta(days=days)).astimezone(ZONE).date()


async def _open_practice(practice: Practice, mode: str = "both") -> str:
    """Clients may book; Lee is available every day 09:00-17:00. Lee's staff id."""
    status, _ = await practice.call(
        "PATCH", "/api/v1/practice", json={"self_scheduling": "clients"}
    )
    assert status == 200
    lee = practice.ids["clinician"]
    for weekday in range(7):
        block = {"clinician": lee, "weekday": weekday, "start_local": "09:00",
                 "end_local": "17:00", "mode": mode}  # fmt: skip
        status, made = await practice.call("POST", "/api/v1/availability", json=block)
        assert status == 201, made
    return lee


async def _get(practice: Practice, cookie: str, path: str) -> tuple[int, Any]:
    answer = await practice.client.get(path, headers=headers(practice, cookie))
    return answer.status, await answer.json()


async def _post(practice: Practice, cookie: str, path: str, body: Any) -> tuple[int, Any]:
    answer = await practice.client.post(path, json=body, headers=headers(practice, cookie))
    return answer.status, await answer.json()


async def _slots(
    practice: Practice, cookie: str, client_id: str, clinician: str, **query: str
) -> list[dict[str, Any]]:
    day = query.pop("day", str(_day()))
    extra = "".join(f"&{k}={v}" for k, v in query.items())
    status, found = await _get(
        practice,
        cookie,
        f"/api/v1/portal/slots?client={client_id}&clinician={clinician}&from={day}{extra}",
    )
    assert status == 200, found
    return list(found["items"])


def _booking(client_id: str, clinician: str, start: str, modality: str = "telehealth") -> Any:
    return {"client_id": client_id, "clinician_id": clinician, "start": start, "modality": modality}


async def test_off_unless_the_practice_takes_bookings(practice: Practice) -> None:
    client_id = await add_client(practice, clinicians=["lee@example.org"])
    lee = practice.ids["clinician"]
    cookie = await signed_in(practice, "ana@example.org")
    status, options = await _get(practice, cookie, "/api/v1/portal/booking")
    assert (status, options["enabled"], options["clients"]) == (200, False, [])
    path = f"/api/v1/portal/slots?client={client_id}&clinician={lee}&from={_day()}"
    status, refused = await _get(practice, cookie, path)
    assert (status, refused["error"]["code"]) == (403, "self_scheduling_off")
    start = datetime.combine(_day(), datetime.min.time(), ZONE).replace(hour=9).isoformat()
    status, refused = await _post(
        practice, cookie, "/api/v1/portal/bookings", _booking(client_id, lee, start)
    )
    assert (status, refused["error"]["code"]) == (403, "self_scheduling_off")


async def test_a_client_sees_their_clinicians_books_a_slot_and_it_is_listed(
    practice: Practice,
) -> None:
    lee = await _open_practice(practice, mode="telehealth_only")
    client_id = await add_client(practice, clinicians=["lee@example.org"])
    kim = (await add_clinician(practice))["staff"]["id"]  # not Ana's clinician
    cookie = await signed_in(practice, "ana@example.org")
    status, options = await _get(practice, cookie, "/api/v1/portal/booking")
    assert status == 200
    assert options["enabled"] is True
    assert options["clients"] == [
        {
            "client_id": client_id,
            "clinicians": [{"id": lee, "name": "Clinician", "modes": ["telehealth"]}],
        }
    ]
    slots = await _slots(practice, cookie, client_id, lee)
    assert slots
    assert all(s["clinician_id"] == lee for s in slots)
    assert all(datetime.fromisoformat(s["start"]).astimezone(ZONE).date() == _day() for s in slots)
    assert datetime.fromisoformat(slots[0]["start"]).astimezone(ZONE).hour == 9

    status, made = await _post(
        practice, cookie, "/api/v1/portal/bookings", _booking(client_id, lee, slots[0]["start"])
    )
    assert status == 201, made
    assert (made["status"], made["modality"], made["client_id"]) == (
        "scheduled",
        "telehealth",
        client_id,
    )
    assert datetime.fromisoformat(made["start"]) == datetime.fromisoformat(slots[0]["start"])
    status, listed = await _get(practice, cookie, "/api/v1/portal/appointments")
    assert [a["id"] for a in listed["items"]] == [made["id"]]
    left = await _slots(practice, cookie, client_id, lee)
    assert slots[0]["start"] not in {s["start"] for s in left}
    # Booked already: the slot is gone; in person is not offered; Kim is not theirs.
    status, gone = await _post(
        practice, cookie, "/api/v1/portal/bookings", _booking(client_id, lee, slots[0]["start"])
    )
    assert (status, gone["error"]["code"]) == (409, "slot_gone")
    status, wrong = await _post(
        practice,
        cookie,
        "/api/v1/portal/bookings",
        _booking(client_id, lee, slots[1]["start"], "in_person"),
    )
    assert (status, wrong["error"]["code"]) == (422, "wrong_mode")
    path = f"/api/v1/portal/slots?client={client_id}&clinician={kim}&from={_day()}"
    assert (await _get(practice, cookie, path))[0] == 404
    status, _ = await _post(
        practice, cookie, "/api/v1/portal/bookings", _booking(client_id, kim, slots[1]["start"])
    )
    assert status == 404


async def test_bad_bookings_are_one_clear_line_and_book_nothing(practice: Practice) -> None:
    lee = await _open_practice(practice)
    client_id = await add_client(practice, clinicians=["lee@example.org"])
    cookie = await signed_in(practice, "ana@example.org")
    soon = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
    past = (datetime.now(UTC) - timedelta(hours=2)).isoformat()
    far = (datetime.now(UTC) + timedelta(days=90)).isoformat()
    night = datetime.combine(_day(), datetime.min.time(), ZONE).replace(hour=3).isoformat()
    for start, code in ((past, "in_the_past"), (soon, "too_soon"), (far, "too_far"),
                        (night, "not_open")):  # fmt: skip
        status, refused = await _post(
            practice, cookie, "/api/v1/portal/bookings", _booking(client_id, lee, start)
        )
        assert (status, refused["error"]["code"]) == (422, code), start
    status, refused = await _post(
        practice, cookie, "/api/v1/portal/bookings", _booking(client_id, lee, "tomorrow")
    )
    assert status in (400, 422)
    assert "\n" not in refused["error"]["message"]
    path = f"/api/v1/portal/slots?client={client_id}&clinician={lee}&from=someday"
    status, refused = await _get(practice, cookie, path)
    assert (status, refused["error"]["message"]) == (
        400,
        "from is not a date (YYYY-MM-DD): 'someday'",
    )
    status, listed = await _get(practice, cookie, "/api/v1/portal/appointments")
    assert listed["items"] == []


async def test_two_sessions_booking_one_slot_at_once_give_one_winner(practice: Practice) -> None:
    lee = await _open_practice(practice)
    ana = await add_client(practice, clinicians=["lee@example.org"])
    bo = await add_client(
        practice, name="Bo Client", email="bo@example.org", clinicians=["lee@example.org"]
    )
    cookies = {ana: await signed_in(practice, "ana@example.org")}
    cookies[bo] = await signed_in(practice, "bo@example.org")
    slots = await _slots(practice, cookies[ana], ana, lee)
    rounds = slots[:6]
    assert len(rounds) == 6

    def book(client_id: str, slot: dict[str, Any]) -> Any:
        body = _booking(client_id, lee, slot["start"])
        return _post(practice, cookies[client_id], "/api/v1/portal/bookings", body)

    answers = await asyncio.gather(*(book(c, s) for s in rounds for c in (ana, bo)))
    for n in range(len(rounds)):
        pair = answers[2 * n : 2 * n + 2]
        assert sorted(status for status, _ in pair) == [201, 409], pair
        [(_, lost)] = [(s, body) for s, body in pair if s == 409]
        assert lost["error"]["code"] == "slot_gone"
    query = f"clinician={lee}&from={_day()}&to={_day()}"
    status, stored = await practice.call("GET", f"/api/v1/appointments?{query}")
    assert status == 200
    assert len(stored["items"]) == len(rounds)


async def test_ask_to_move_a_visit_to_an_open_slot(practice: Practice) -> None:
    lee = await _open_practice(practice)
    client_id = await add_client(practice, clinicians=["lee@example.org"])
    start = datetime.combine(_day(2), datetime.min.time(), ZONE).replace(hour=10)
    appt = await add_appointment(practice, client_id, start, status="scheduled")
    cookie = await signed_in(practice, "ana@example.org")
    status, listed = await _get(practice, cookie, "/api/v1/portal/appointments")
    [shown] = listed["items"]
    assert (shown["can_move"], shown["clinician_id"], shown.get("move_asked")) == (
        True,
        lee,
        None,
    )
    target = (await _slots(practice, cookie, client_id, lee, day=str(_day(4))))[0]["start"]
    path = f"/api/v1/portal/appointments/{appt['id']}/reschedule"
    status, asked = await _post(practice, cookie, path, {"start": target})
    assert status == 201, asked
    assert (asked["appointment_id"], asked["state"]) == (appt["id"], "pending")
    assert datetime.fromisoformat(asked["start"]) == datetime.fromisoformat(target)
    status, listed = await _get(practice, cookie, "/api/v1/portal/appointments")
    [shown] = listed["items"]
    assert shown["can_move"] is False
    assert datetime.fromisoformat(shown["move_asked"]) == datetime.fromisoformat(target)
    status, again = await _post(practice, cookie, path, {"start": target})
    assert (status, again["error"]["code"]) == (409, "not_pending")
    status, waiting = await practice.call("GET", "/api/v1/reschedule-requests")
    assert [r["appointment_id"] for r in waiting["items"]] == [appt["id"]]


async def test_a_caregiver_books_and_asks_for_their_client_only(practice: Practice) -> None:
    lee = await _open_practice(practice)
    child = await add_client(
        practice, name="Kid Client", email="kid@example.org", clinicians=["lee@example.org"]
    )
    other = await add_client(
        practice, name="Other Client", email="other@example.org", clinicians=["lee@example.org"]
    )
    status, made = await practice.call(
        "POST",
        f"/api/v1/clients/{child}/contacts",
        json={"name": "Pat Parent", "email": "pat@example.org", "portal": True},
    )
    assert status == 201, made
    theirs = await add_appointment(
        practice, other, datetime.combine(_day(2), datetime.min.time(), ZONE).replace(hour=10)
    )
    cookie = await signed_in(practice, "pat@example.org")
    status, options = await _get(practice, cookie, "/api/v1/portal/booking")
    assert [c["client_id"] for c in options["clients"]] == [child]
    slot = (await _slots(practice, cookie, child, lee))[0]["start"]
    path = f"/api/v1/portal/slots?client={other}&clinician={lee}&from={_day()}"
    refused = await _get(practice, cookie, path)
    missing = await _get(practice, cookie, path.replace(other, "cli_doesnotexist"))
    assert refused == missing
    assert refused[0] == 404
    refused = await _post(practice, cookie, "/api/v1/portal/bookings", _booking(other, lee, slot))
    missing = await _post(
        practice, cookie, "/api/v1/portal/bookings", _booking("cli_doesnotexist", lee, slot)
    )
    assert refused == missing
    assert refused[0] == 404
    move = f"/api/v1/portal/appointments/{theirs['id']}/reschedule"
    assert (await _post(practice, cookie, move, {"start": slot}))[0] == 404
    status, booked = await _post(
        practice, cookie, "/api/v1/portal/bookings", _booking(child, lee, slot)
    )
    assert (status, booked["client_id"]) == (201, child)
    status, log = await practice.call("GET", "/api/v1/audit")
    made = [e for e in log["items"] if e["target"] == booked["id"]]
    assert made
    assert made[0]["actor"]["kind"] == "contact"


async def test_every_post_checks_origin(practice: Practice) -> None:
    lee = await _open_practice(practice)
    client_id = await add_client(practice, clinicians=["lee@example.org"])
    appt = await add_appointment(
        practice, client_id, datetime.combine(_day(2), datetime.min.time(), ZONE).replace(hour=10)
    )
    cookie = await signed_in(practice, "ana@example.org")
    slot = (await _slots(practice, cookie, client_id, lee))[0]["start"]
    jar = {"Cookie": f"__Host-tlh_portal={cookie}"}
    posts = {
        "/api/v1/portal/bookings": _booking(client_id, lee, slot),
        f"/api/v1/portal/appointments/{appt['id']}/reschedule": {"start": slot},
    }
    for path, body in posts.items():
        for sent in ({"Origin": "https://evil.example"}, {}):
            answer = await practice.client.post(path, json=body, headers={**sent, **jar})
            assert answer.status == 403, (path, sent)
    status, listed = await _get(practice, cookie, "/api/v1/portal/appointments")
    assert status == 200
    assert [a["id"] for a in listed["items"]] == [appt["id"]]  # nothing booked
