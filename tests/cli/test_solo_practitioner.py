"""A solo practitioner is one account, admin and clinician at once (issue 18, item 10),
through the real ``tlh`` against a running server."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from .conftest import Live
from .room_helpers import cli, link_token


async def test_an_admin_who_is_also_a_clinician_runs_their_own_room(live: Live) -> None:
    from tlh.media.participant import Participant

    added = await cli(
        live, "staff", "add", "solo@example.org", "--name", "Sam Solo", "--role", "admin",
        "--also-clinician", "--telehealth",
    )  # fmt: skip
    assert added.exit_code == 0, added.stderr
    token = added.stdout.strip()
    listed = await cli(live, "staff", "show", "solo@example.org", token=token)
    assert "admin + clinician" in listed.stdout
    client = json.loads((await cli(live, "client", "add", "--name", "Ola Solo", "--json")).stdout)
    consent = await cli(
        live, "consent", "record-verbal", client["id"], "--by", "solo@example.org",
        "--note", "agreed by phone", token=token,
    )  # fmt: skip
    assert consent.exit_code == 0, consent.stderr
    # Only clinicians can be booked on a visit: the solo practitioner can.
    booked = await cli(
        live, "appt", "add", "--client", client["id"], "--clinician", "solo@example.org",
        "--start", (datetime.now(UTC) - timedelta(minutes=1)).isoformat(), "--duration", "50",
        "--telehealth", "--status", "confirmed", "--no-notify", "--json", token=token,
    )  # fmt: skip
    assert booked.exit_code == 0, booked.stderr
    appt_id = json.loads(booked.stdout)["items"][0]["id"]
    participant = Participant(live.url, link_token=await link_token(live, appt_id))
    await participant.start()
    try:
        await participant.wait_state("waiting", within=5)
        # Their own room, without naming it (an admin alone is asked to name one).
        admitted = await cli(live, "room", "admit", "--all", "--json", token=token)
        assert admitted.exit_code == 0, admitted.stderr
        assert [e["id"] for e in json.loads(admitted.stdout)["admitted"]] == [participant.entry_id]
        await participant.wait_state("admitted", "in_session", within=5)
    finally:
        await participant.close()
