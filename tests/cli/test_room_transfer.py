"""``tlh room transfer`` leads somewhere: the receiving clinician lets the client in
(issue 18, item 3), through the real ``tlh`` against a running server."""

from __future__ import annotations

import json

from .conftest import Live
from .room_helpers import book, cli, waiting


async def test_the_receiving_clinician_admits_a_transferred_client(live: Live) -> None:
    booked = await book(live)
    lee = await book(live)  # another clinician, with a visit of their own
    participant = await waiting(live, booked.appt_id)
    try:
        moved = await cli(
            live, "room", "transfer", participant.entry_id, "--to", lee.clinician_email,
            token=booked.clinician_token,
        )  # fmt: skip
        assert moved.exit_code == 0, moved.stderr
        admitted = await cli(
            live, "room", "admit", participant.entry_id, "--json", token=lee.clinician_token
        )
        assert admitted.exit_code == 0, admitted.stderr
        assert json.loads(admitted.stdout)["state"] == "admitted"
        await participant.wait_state("admitted", "in_session", within=5)
        shown = await cli(live, "appt", "show", booked.appt_id, "--json")
        assert json.loads(shown.stdout)["clinician_ids"] == [
            booked.clinician_id,
            lee.clinician_id,
        ]
    finally:
        await participant.close()
