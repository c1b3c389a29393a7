"""Concurrent writes against a real ``tlh serve``: 50 pairs at once, counted.

Each pair is two requests that read and change the same record (or the same slot) at
the same moment. Before every read-modify-write went through the store's serialised
update, and every check-then-commit held its key, one of each pair was lost (20/20 for
clients, 50/50 for staff, 20/20 double bookings).
"""

from __future__ import annotations

import asyncio
import secrets
from datetime import date, timedelta
from typing import Any

from .conftest import Api

PAIRS = 50


def _ref() -> str:
    return secrets.token_hex(4)


async def _clinician(api: Api) -> str:
    status, made = await api.call(
        "POST",
        "/api/v1/staff",
        {"email": f"doc-{_ref()}@example.org", "name": "Dr Race", "role": "clinician",
         "telehealth": True},
    )  # fmt: skip
    assert status == 201, made
    return str(made["staff"]["id"])


async def _clients(api: Api, n: int) -> list[str]:
    answers = await asyncio.gather(
        *(api.call("POST", "/api/v1/clients", {"name": f"Client {i}"}) for i in range(n))
    )
    assert all(status == 201 for status, _ in answers), answers[:1]
    return [str(body["id"]) for _, body in answers]


def _phone(i: int) -> str:
    return f"+1202555{i:04d}"


async def test_two_edits_of_one_client_at_once_both_land(api: Api) -> None:
    ids = await _clients(api, PAIRS)
    answers = await asyncio.gather(
        *(
            request
            for i, cid in enumerate(ids)
            for request in (
                api.call("PATCH", f"/api/v1/clients/{cid}", {"email": f"c{i}@example.org"}),
                api.call("PATCH", f"/api/v1/clients/{cid}", {"phone": _phone(i)}),
            )
        )
    )
    assert [status for status, _ in answers] == [200] * (2 * PAIRS)
    stored = await asyncio.gather(*(api.call("GET", f"/api/v1/clients/{cid}") for cid in ids))
    lost = [i for i, (_, c) in enumerate(stored) if not (c["email"] and c["phone"])]
    assert len(lost) == 0, f"{len(lost)} of {PAIRS} pairs lost one edit"


async def test_two_contacts_added_at_once_are_both_kept(api: Api) -> None:
    ids = await _clients(api, PAIRS)
    await asyncio.gather(
        *(
            api.call("POST", f"/api/v1/clients/{cid}/contacts", {"name": name})
            for cid in ids
            for name in ("Parent One", "Parent Two")
        )
    )
    stored = await asyncio.gather(*(api.call("GET", f"/api/v1/clients/{cid}") for cid in ids))
    lost = [c for _, c in stored if len(c["contacts"]) != 2]
    assert len(lost) == 0, f"{len(lost)} of {PAIRS} clients lost a contact"


async def test_two_edits_of_one_staff_member_at_once_both_land(api: Api) -> None:
    ids = await asyncio.gather(*(_clinician(api) for _ in range(PAIRS)))
    await asyncio.gather(
        *(
            request
            for sid in ids
            for request in (
                api.call("PATCH", f"/api/v1/staff/{sid}", {"name": "Dr Renamed"}),
                api.call("PATCH", f"/api/v1/staff/{sid}", {"telehealth": False}),
            )
        )
    )
    stored = await asyncio.gather(*(api.call("GET", f"/api/v1/staff/{sid}") for sid in ids))
    lost = [s for _, s in stored if not (s["name"] == "Dr Renamed" and s["telehealth"] is False)]
    assert len(lost) == 0, f"{len(lost)} of {PAIRS} pairs lost one edit"


async def test_two_practice_settings_changed_at_once_both_land(api: Api) -> None:
    for n in range(10):
        await asyncio.gather(
            api.call("PATCH", "/api/v1/practice", {"late_cancel_hours": 30 + n}),
            api.call("PATCH", "/api/v1/practice", {"late_after_min": 20 + n}),
        )
        _, policy = await api.call("GET", "/api/v1/practice")
        assert (policy["late_cancel_hours"], policy["late_after_min"]) == (30 + n, 20 + n)


def _slot(day: date, n: int) -> str:
    """A distinct local start for pair ``n`` (09:00 + n hours, over days)."""
    when = day + timedelta(days=n // 8)
    return f"{when.isoformat()}T{9 + n % 8:02d}:00"


async def test_two_bookings_of_one_slot_at_once_give_one_appointment(api: Api) -> None:
    clinician = await _clinician(api)
    [cid_a, cid_b] = await _clients(api, 2)
    first = date.today() + timedelta(days=30)

    def book(client_id: str, n: int) -> Any:
        return api.call(
            "POST",
            "/api/v1/appointments",
            {"client_ids": [client_id], "clinicians": [clinician], "start": _slot(first, n),
             "duration_min": 50},
        )  # fmt: skip

    answers = await asyncio.gather(*(book(cid, n) for n in range(PAIRS) for cid in (cid_a, cid_b)))
    doubled = sum(
        1 for n in range(PAIRS) if [answers[2 * n][0], answers[2 * n + 1][0]].count(201) != 1
    )
    assert doubled == 0, f"{doubled} of {PAIRS} slots booked twice (or not at all)"
    assert {status for status, _ in answers} == {201, 409}
    refused = [body["error"]["details"][0]["code"] for status, body in answers if status == 409]
    assert set(refused) == {"double_booked"}


async def test_an_import_racing_a_booking_of_the_same_slot_gives_one_appointment(api: Api) -> None:
    clinician = await _clinician(api)
    _, staff = await api.call("GET", f"/api/v1/staff/{clinician}")
    [client_id] = await _clients(api, 1)
    first = date.today() + timedelta(days=60)
    rows = ["external_id,client_name,clinician_email,start,duration_min"]
    rows += [
        f"race-{_ref()}-{n},Imported Client,{staff['email']},{_slot(first, n)},50"
        for n in range(PAIRS)
    ]
    csv = ("\n".join(rows) + "\n").encode()
    bookings = [
        api.call(
            "POST",
            "/api/v1/appointments",
            {
                "client_ids": [client_id],
                "clinicians": [clinician],
                "start": _slot(first, n),
                "duration_min": 50,
            },
        )
        for n in range(PAIRS)
    ]
    imported, *booked = await asyncio.gather(
        api.call(
            "POST", "/api/v1/appointments/import?partial=1", data=csv, content_type="text/csv"
        ),
        *bookings,
    )
    assert imported[0] == 200, imported
    _, listed = await api.call(
        "GET",
        f"/api/v1/appointments?from={first.isoformat()}"
        f"&to={(first + timedelta(days=PAIRS // 8 + 1)).isoformat()}&clinician={clinician}",
    )
    starts = [a["start"] for a in listed["items"]]
    assert len(starts) == len(set(starts)) == PAIRS, (
        f"{len(starts) - len(set(starts))} slots booked twice"
    )
    won_by_api = sum(1 for status, _ in booked if status == 201)
    assert won_by_api + imported[1]["created"] == PAIRS
