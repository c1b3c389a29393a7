"""``tlh slots``: open slots for staff, ``--json`` shape, and bad input as one line and
exit 2 (issue 13, item 5)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tlh.cli.exit import ExitStatus

from .conftest import Live

NY = ZoneInfo("America/New_York")


def _clinician(live: Live, email: str) -> str:
    added = live.run("staff", "add", email, "--name", "Dr. Slot", "--role", "clinician", "--json")
    assert added.exit_code == 0, added.stderr
    for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun"):
        blocked = live.run(
            "availability", "set", "--clinician", email, "--weekday", day,
            "--from", "09:00", "--to", "12:00", "--mode", "telehealth_only",
        )  # fmt: skip
        assert blocked.exit_code == 0, blocked.stderr
    return str(json.loads(added.stdout)["staff"]["id"])


def _day_after_notice() -> str:
    return (datetime.now(UTC).astimezone(NY).date() + timedelta(days=3)).isoformat()


def test_slots_json_lists_the_open_slots_of_a_day(live: Live) -> None:
    stf = _clinician(live, "slots-json@example.org")
    day = _day_after_notice()
    listed = live.run(
        "slots", "--clinician", "slots-json@example.org", "--from", day, "--to", day,
        "--modality", "telehealth", "--json",
    )  # fmt: skip
    assert listed.exit_code == 0, listed.stderr
    found = json.loads(listed.stdout)
    assert list(found) == ["items"]
    assert [sorted(s) for s in found["items"]] == [["clinician_id", "end", "modes", "start"]] * 3
    starts = [datetime.fromisoformat(s["start"]).astimezone(NY) for s in found["items"]]
    assert [f"{s:%Y-%m-%d %H:%M}" for s in starts] == [
        f"{day} 09:00",
        f"{day} 09:50",
        f"{day} 10:40",
    ]
    assert {s["clinician_id"] for s in found["items"]} == {stf}
    assert {tuple(s["modes"]) for s in found["items"]} == {("telehealth",)}

    in_person = live.run(
        "slots", "--clinician", stf, "--from", day, "--to", day, "--modality", "in_person", "--json"
    )
    assert in_person.exit_code == 0, in_person.stderr
    assert json.loads(in_person.stdout) == {"items": []}

    table = live.run("slots", "--clinician", stf, "--from", day, "--to", day)
    assert table.exit_code == 0, table.stderr
    assert "09:50" in table.stdout
    assert "slots-json@example.org" in table.stdout


def test_bad_input_is_one_line_and_exit_2(live: Live) -> None:
    _clinician(live, "slots-bad@example.org")
    cases = {
        "not a date": ["--from", "2026-13-40"],
        "is after": ["--from", "2027-02-10", "--to", "2027-02-01"],
        "at most": ["--from", "2027-01-01", "--to", "2029-01-01"],
        "no staff member": ["--clinician", "nobody-here@example.org"],
        "modality": ["--modality", "by-pigeon"],
    }
    for said, args in cases.items():
        got = live.run("slots", "--clinician", "slots-bad@example.org", *args)
        if said == "no staff member":
            got = live.run("slots", *args)
        assert got.exit_code == ExitStatus.USAGE, (said, got.stdout, got.stderr)
        lines = got.stderr.strip().splitlines()
        assert len(lines) == 1, (said, got.stderr)
        assert said in lines[0], (said, got.stderr)
        assert "Traceback" not in got.stdout + got.stderr


def test_reschedule_requests_are_listed_accepted_and_declined(live: Live) -> None:
    import asyncio

    from tlh.client import TlhClient

    stf = _clinician(live, "slots-move@example.org")
    assert live.run("practice", "set", "self_scheduling", "clients").exit_code == 0
    added = live.run("client", "add", "--name", "Mo Mover", "--json")
    assert added.exit_code == 0, added.stderr
    client_id = json.loads(added.stdout)["id"]
    day = _day_after_notice()

    async def ask(nth: int) -> str:
        async with TlhClient(live.url, live.token) as api:
            found = await api.slots.list([stf], day, day)
            booked = await api.slots.book(client_id, stf, found[nth].start, "telehealth")
            return (await api.reschedule.ask(booked.items[0].id, found[-1].start)).id

    declined = asyncio.run(ask(0))
    done = live.run("reschedule", "decline", declined, "--json")
    assert done.exit_code == 0, done.stderr
    assert json.loads(done.stdout)["state"] == "declined"
    pending = asyncio.run(ask(0))
    listed = live.run("reschedule", "list", "--json")
    assert listed.exit_code == 0, listed.stderr
    assert [r["id"] for r in json.loads(listed.stdout)["items"]] == [pending]
    accepted = live.run("reschedule", "accept", pending, "--json")
    assert accepted.exit_code == 0, accepted.stderr
    assert json.loads(accepted.stdout)["state"] == "accepted"
    again = live.run("reschedule", "accept", declined)
    assert again.exit_code == ExitStatus.CONFLICT, again.stderr
    assert len(again.stderr.strip().splitlines()) == 1
    missing = live.run("reschedule", "accept", "rsq_nothing")
    assert missing.exit_code == ExitStatus.NOT_FOUND


def test_bad_slot_questions_are_http_400_with_one_line(live: Live) -> None:
    import urllib.error
    import urllib.request

    for query in (
        "from=2027-02-10&to=2027-02-01",
        "from=2027-02-31",
        "clinician=nobody-at-all@example.org",
        "from=2027-01-01&to=2029-01-01",
        "modality=fax",
    ):
        request = urllib.request.Request(
            f"{live.url}/api/v1/slots?{query}", headers={"Authorization": f"Bearer {live.token}"}
        )
        with pytest.raises(urllib.error.HTTPError) as raised:
            urllib.request.urlopen(request, timeout=10)
        body = json.loads(raised.value.read())
        assert raised.value.code == 400, (query, body)
        assert body["error"]["code"] == "bad_request"
        assert "\n" not in body["error"]["message"]
