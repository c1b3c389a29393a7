"""Two staff changing one appointment at the same moment: both changes are kept, and a
status move is judged from the status as stored, not as it was read."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from .conftest import Practice
from .outreach_helpers import add_appointment, add_client

ROUNDS = 5  # each round races; one lost write in any fails the test


async def _appointments(practice: Practice, **extra: str) -> list[str]:
    client_id = await add_client(practice)
    start = datetime.now(UTC) + timedelta(days=2)
    return [
        (await add_appointment(practice, client_id, start + timedelta(hours=n), **extra))["id"]
        for n in range(ROUNDS)
    ]


async def test_a_note_and_a_status_change_at_once_are_both_kept(practice: Practice) -> None:
    for n, appt_id in enumerate(await _appointments(practice, status="scheduled")):
        path = f"/api/v1/appointments/{appt_id}"
        (edited, _), (moved, _) = await asyncio.gather(
            practice.call("PATCH", path, json={"notes": f"round {n}"}),
            practice.call("POST", path + "/status", json={"status": "confirmed"}),
        )
        assert (edited, moved) == (200, 200)
        _, stored = await practice.call("GET", path)
        assert (stored["notes"], stored["status"]) == (f"round {n}", "confirmed")


async def test_of_two_status_moves_at_once_the_second_is_judged_from_the_first(
    practice: Practice,
) -> None:
    """Cancelled and occurred cannot follow each other either way: of the two racing,
    one lands and the other is refused (409) instead of silently overwriting it."""
    for appt_id in await _appointments(practice):
        path = f"/api/v1/appointments/{appt_id}"
        answers = await asyncio.gather(
            practice.call("POST", path + "/status", json={"status": "cancelled"}),
            practice.call("POST", path + "/status", json={"status": "occurred"}),
        )
        assert sorted(code for code, _ in answers) == [200, 409]
        [winner] = [body for code, body in answers if code == 200]
        _, stored = await practice.call("GET", path)
        assert stored["status"] == winner["status"]
