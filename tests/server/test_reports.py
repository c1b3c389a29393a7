"""Session and attendance reports over the API: ranges in the practice zone, CSV, filters."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.seeding import seed
from tlh.domain.sessions import Participation, SessionSegment
from tlh.server.keys import CTX
from tlh.store.base import Put

from .conftest import Practice
from .outreach_helpers import add_appointment, add_client, add_clinician

# 23:30 on 2 March in New York (the practice's zone) is already 3 March in UTC.
LATE_EVENING = datetime(2026, 3, 3, 4, 30, tzinfo=UTC)


async def _seed(practice: Practice, *segments: SessionSegment) -> None:
    await seed(practice.client.app[CTX].store, [Put(s) for s in segments])


def _segment(
    sid: str, appt_id: str | None, clinician: str, start: datetime, *people: Participation
) -> SessionSegment:
    return SessionSegment(
        id=sid,
        appointment_id=appt_id,
        clinician_id=clinician,
        started_at=start - timedelta(minutes=1),
        started_by=clinician,
        ended_at=start + timedelta(minutes=45),
        participants=people,
    )


def _client_joined(client_id: str, at: datetime, channel: str = "email") -> Participation:
    return Participation(
        peer_id=f"ent_{client_id}",
        kind="client",
        client_id=client_id,
        channel=channel,
        joined_at=at,
    )


@pytest.fixture
async def seeded(practice: Practice) -> dict[str, Any]:
    """Three appointments on 2 March (local): late join, no-show, late cancellation."""
    ana = await add_client(practice)
    ben = await add_client(practice, name="Ben Client", email="ben@example.org")
    lee = practice.ids["clinician"]
    late = await add_appointment(practice, ana, start=LATE_EVENING)
    gone = await add_appointment(practice, ben, start=LATE_EVENING - timedelta(hours=3))
    cancelled = await add_appointment(practice, ana, start=LATE_EVENING - timedelta(hours=6))
    status, _ = await practice.call("POST", f"/api/v1/appointments/{cancelled['id']}/cancel")
    assert status == 200
    status, paid = await practice.call(
        "PATCH", f"/api/v1/appointments/{late['id']}", json={"copay_amount": "25"}
    )
    assert status == 200, paid
    staff = Participation(peer_id=lee, kind="staff", staff_id=lee, joined_at=LATE_EVENING)
    joined = _client_joined(ana, LATE_EVENING + timedelta(minutes=15), "sms")
    await _seed(
        practice,
        _segment("ses_a", late["id"], lee, LATE_EVENING, staff, joined),
        # A room session the next local day: outside a 2 March report.
        _segment("ses_b", None, lee, LATE_EVENING + timedelta(hours=2)),
    )
    return {
        "ana": ana,
        "ben": ben,
        "late": late["id"],
        "gone": gone["id"],
        "cancelled": cancelled["id"],
    }


async def test_sessions_report_in_the_practice_zone(
    practice: Practice, seeded: dict[str, Any]
) -> None:
    status, report = await practice.call(
        "GET", "/api/v1/reports/sessions?from=2026-03-02&to=2026-03-02"
    )
    assert status == 200, report
    [row] = report["items"]
    assert row["session_id"] == "ses_a"
    assert row["date"] == "2026-03-02"
    assert row["duration_min"] == 46
    assert row["channels"] == ["sms"]
    assert row["client_ids"] == [seeded["ana"]]
    assert (row["copay_collected"], row["copay_amount"]) == (True, "25.00")
    status, both = await practice.call(
        "GET", "/api/v1/reports/sessions?from=2026-03-02&to=2026-03-03"
    )
    assert [r["session_id"] for r in both["items"]] == ["ses_a", "ses_b"]
    _, log = await practice.call("GET", "/api/v1/audit")
    assert any(e["action"] == "report.sessions" for e in log["items"])


async def test_attendance_outcomes(practice: Practice, seeded: dict[str, Any]) -> None:
    status, report = await practice.call(
        "GET", "/api/v1/reports/attendance?from=2026-03-02&to=2026-03-02"
    )
    assert status == 200, report
    outcomes = {r["appointment_id"]: r for r in report["items"]}
    assert outcomes[seeded["late"]]["outcome"] == "late"
    assert outcomes[seeded["late"]]["minutes_late"] == 15
    assert outcomes[seeded["late"]]["channel"] == "sms"
    assert outcomes[seeded["gone"]]["outcome"] == "no_show"
    assert outcomes[seeded["cancelled"]]["outcome"] == "late_cancelled"
    # Oldest first.
    assert [r["appointment_id"] for r in report["items"]] == [
        seeded["cancelled"],
        seeded["gone"],
        seeded["late"],
    ]


async def test_csv_has_a_header_and_one_line_per_row(
    practice: Practice, seeded: dict[str, Any]
) -> None:
    response = await practice.client.get(
        "/api/v1/reports/attendance?from=2026-03-02&to=2026-03-02&format=csv",
        headers=practice.auth(),
    )
    assert response.status == 200
    assert response.content_type == "text/csv"
    rows = list(csv.DictReader(io.StringIO(await response.text())))
    assert len(rows) == 3
    late = next(r for r in rows if r["appointment_id"] == seeded["late"])
    assert (late["outcome"], late["copay_amount"], late["copay_collected"]) == (
        "late",
        "25.00",
        "true",
    )


async def test_clinician_filter_and_own_reports(practice: Practice, seeded: dict[str, Any]) -> None:
    await add_clinician(practice)
    query = "/api/v1/reports/attendance?from=2026-03-02&to=2026-03-02"
    _, lee = await practice.call("GET", query + "&clinician=lee@example.org")
    assert len(lee["items"]) == 3
    _, kim = await practice.call("GET", query + "&clinician=kim@example.org")
    assert kim["items"] == []
    _, own = await practice.call("GET", query, role="clinician")
    assert len(own["items"]) == 3
    status, _ = await practice.call("GET", query + "&clinician=kim@example.org", role="clinician")
    assert status == 403


@pytest.mark.parametrize(
    "query",
    [
        "from=2026-03-03&to=2026-03-02",
        "from=2026-02-30&to=2026-03-02",
        "from=yesterday&to=2026-03-02",
        "to=2026-03-02",
        "from=2026-03-02&to=2026-03-02&clinician=nobody@example.org",
        "from=2026-03-02&to=2026-03-02&clinician=desk@example.org",
        "from=2026-03-02&to=2026-03-02&format=xml",
    ],
)
async def test_bad_input_is_a_one_line_400(practice: Practice, query: str) -> None:
    for kind in ("sessions", "attendance"):
        status, answer = await practice.call("GET", f"/api/v1/reports/{kind}?{query}")
        assert status == 400, answer
        assert "\n" not in answer["error"]["message"]
