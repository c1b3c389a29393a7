"""Two clients booking one open slot at the same instant, against a real ``tlh serve``:
exactly one wins, the other is told the slot is gone (issue 13, item 5). 50 slots, each
booked twice at once."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from typing import Any

from .conftest import Api
from .test_races import _clients, _clinician

ROUNDS = 50


async def test_two_bookings_of_one_open_slot_at_once_give_one_winner(api: Api) -> None:
    status, _ = await api.call("PATCH", "/api/v1/practice", {"self_scheduling": "clients"})
    assert status == 200
    clinician = await _clinician(api)
    for day in range(7):
        status, _ = await api.call(
            "POST",
            "/api/v1/availability",
            {"clinician": clinician, "weekday": day, "start_local": "08:00",
             "end_local": "20:00", "mode": "telehealth_only"},
        )  # fmt: skip
        assert status == 201
    first = date.today() + timedelta(days=3)
    status, listed = await api.call(
        "GET", f"/api/v1/slots?clinician={clinician}&from={first}&to={first + timedelta(days=9)}"
    )
    assert status == 200, listed
    slots = listed["items"][:ROUNDS]
    assert len(slots) == ROUNDS
    [cid_a, cid_b] = await _clients(api, 2)

    def book(client_id: str, slot: dict[str, Any]) -> Any:
        return api.call(
            "POST",
            "/api/v1/slots/book",
            {"client_id": client_id, "clinician": clinician, "start": slot["start"],
             "modality": "telehealth"},
        )  # fmt: skip

    answers = await asyncio.gather(*(book(cid, s) for s in slots for cid in (cid_a, cid_b)))
    pairs = [answers[2 * n : 2 * n + 2] for n in range(ROUNDS)]
    wrong = [n for n, pair in enumerate(pairs) if sorted(s for s, _ in pair) != [201, 409]]
    assert not wrong, (
        f"{len(wrong)} of {ROUNDS} slots without exactly one winner: {pairs[wrong[0]]}"
    )
    assert {body["error"]["code"] for status, body in answers if status == 409} == {"slot_gone"}

    status, after = await api.call(
        "GET",
        f"/api/v1/appointments?clinician={clinician}&from={first}&to={first + timedelta(days=9)}",
    )
    assert status == 200
    assert len(after["items"]) == ROUNDS
    status, left = await api.call(
        "GET", f"/api/v1/slots?clinician={clinician}&from={first}&to={first + timedelta(days=9)}"
    )
    assert {s["start"] for s in slots}.isdisjoint(s["start"] for s in left["items"])
