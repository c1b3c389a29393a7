"""``tlh report sessions|attendance`` and ``tlh appt update --copay`` against a real server."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.seeding import seed
from tlh.domain.sessions import Participation, SessionSegment
from tlh.server.settings import Settings
from tlh.services.bootstrap import init_practice

from .conftest import Live, ServerThread
from .room_helpers import Booked, book

# 22:00 on 2 March in New York (the practice's zone) is 03:00 on 3 March in UTC.
START = datetime(2026, 3, 3, 3, 0, tzinfo=UTC)


@dataclass
class Seeded:
    live: Live
    booked: Booked


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    """Its own server (so the test can seed a session segment in its store)."""
    from tlh.server.keys import CTX
    from tlh.store.base import Put

    root = tmp_path_factory.mktemp("report")
    data_dir = root / "data"
    token = asyncio.run(
        init_practice(data_dir, "Report Practice", "America/New_York", "a@example.org")
    )
    server = ServerThread(Settings(data_dir=data_dir, port=0))
    live = Live(server.start(), token, data_dir, root / "config.toml")
    try:
        booked = asyncio.run(book(live, start=START))
        lee = booked.clinician_id
        joined = Participation(
            peer_id="ent_1",
            kind="client",
            client_id=booked.client_id,
            channel="email",
            joined_at=START + timedelta(minutes=3),
        )
        segment = SessionSegment(
            id="ses_cli",
            appointment_id=booked.appt_id,
            clinician_id=lee,
            started_at=START,
            started_by=lee,
            ended_at=START + timedelta(minutes=50),
            participants=(joined,),
        )
        store = server.app[CTX].store
        asyncio.run_coroutine_threadsafe(seed(store, [Put(segment)]), server.loop).result(10)
        yield Seeded(live, booked)
    finally:
        server.stop()


def ok(result: Any) -> Any:
    assert result.exit_code == 0, (result.exit_code, result.stderr)
    return result


def test_sessions_as_a_table_csv_and_json(seeded: Seeded) -> None:
    live = seeded.live
    table = ok(live.run("report", "sessions", "--from", "2026-03-02")).stdout
    assert "ses_cli" in table
    assert "50" in table
    rows = list(
        csv.DictReader(
            io.StringIO(
                ok(live.run("report", "sessions", "--from", "2026-03-02", "--format", "csv")).stdout
            )
        )
    )
    assert [(r["session_id"], r["duration_min"], r["channels"]) for r in rows] == [
        ("ses_cli", "50", "email")
    ]
    data = json.loads(
        ok(
            live.run(
                "report",
                "sessions",
                "--from",
                "2026-03-01",
                "--to",
                "2026-03-02",
                "--format",
                "json",
            )
        ).stdout
    )
    assert [i["session_id"] for i in data["items"]] == ["ses_cli"]
    empty = json.loads(
        ok(live.run("report", "sessions", "--from", "2026-03-03", "--format", "json")).stdout
    )
    assert empty["items"] == []


def test_attendance_with_clinician_filter(seeded: Seeded) -> None:
    live, booked = seeded.live, seeded.booked
    args = ("report", "attendance", "--from", "2026-03-02", "--format", "json")
    mine = json.loads(ok(live.run(*args, "--clinician", booked.clinician_email)).stdout)
    assert [(i["appointment_id"], i["outcome"], i["minutes_late"]) for i in mine["items"]] == [
        (booked.appt_id, "attended", 3)
    ]
    table = ok(live.run("report", "attendance", "--from", "2026-03-02")).stdout
    assert "attended" in table


@pytest.mark.parametrize(
    "args",
    [
        ("--from", "2026-03-05", "--to", "2026-03-01"),
        ("--from", "March 2nd"),
        ("--from", "2026-03-02", "--clinician", "nobody@example.org"),
    ],
)
def test_bad_input_fails_with_one_line(seeded: Seeded, args: tuple[str, ...]) -> None:
    result = seeded.live.run("report", "attendance", *args)
    assert result.exit_code != 0
    assert len(result.stderr.strip().splitlines()) == 1


def test_copay_is_normalised_collected_and_audited(seeded: Seeded) -> None:
    live, booked = seeded.live, seeded.booked
    done = json.loads(
        ok(live.run("appt", "update", booked.appt_id, "--copay", "25.5", "--json")).stdout
    )
    appt = done["items"][0] if "items" in done else done
    assert (appt["copay_amount"], appt["copay_collected"]) == ("25.50", True)
    report = json.loads(
        ok(live.run("report", "attendance", "--from", "2026-03-02", "--format", "json")).stdout
    )
    assert report["items"][0]["copay_amount"] == "25.50"
    for bad in ("1.234", "-1", "ten", "1e3"):
        result = live.run("appt", "update", booked.appt_id, "--copay", bad)
        assert result.exit_code != 0, bad
    audit = json.loads(ok(live.run("audit", "list", "--json")).stdout)["items"]
    assert any(e["action"] == "appointment.update" and e["target"] == booked.appt_id for e in audit)


def test_attendance_table_reads_names_and_the_practices_time(seeded: Seeded) -> None:
    live, booked = seeded.live, seeded.booked
    table = ok(live.run("report", "attendance", "--from", "2026-03-02")).stdout
    # 03:00 UTC on 3 March is 22:00 on 2 March in New York, the practice's zone.
    assert "2026-03-02 22:00" in table
    assert "2026-03-03T03:00" not in table
    assert "start (America/New_York)" in table
    assert "Dr Lee" in table
    assert booked.clinician_id not in table
    assert booked.client_id not in table
    assert "Ana " in table  # the client's name (book() names them "Ana <hex>")
    sessions = ok(live.run("report", "sessions", "--from", "2026-03-02")).stdout
    assert "2026-03-02 22:00" in sessions
    assert "Dr Lee" in sessions


def test_report_json_after_the_command_and_a_conflicting_format(seeded: Seeded) -> None:
    live = seeded.live
    as_json = json.loads(
        ok(live.run("report", "attendance", "--from", "2026-03-02", "--json")).stdout
    )
    assert as_json["items"][0]["client_id"] == seeded.booked.client_id  # ids kept
    both = live.run("report", "attendance", "--from", "2026-03-02", "--format", "csv", "--json")
    assert both.exit_code == 2
    assert both.stdout == ""
    assert both.stderr.startswith("error: --json prints JSON")
