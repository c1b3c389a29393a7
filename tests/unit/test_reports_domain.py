"""Attendance outcomes and session rows from appointments and segments (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import msgspec
import pytest

from tlh.domain.models import Appointment, Modality, Policy, Status
from tlh.domain.reports import Outcome, attendance_rows, duration_min, session_row, session_rows
from tlh.domain.sessions import Participation, SessionSegment

START = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
POLICY = Policy(practice_name="P")


def appt(status: Status = Status.CONFIRMED, **kw: object) -> Appointment:
    fields: dict[str, object] = {
        "id": "apt_1",
        "clinician_ids": ("stf_1",),
        "client_ids": ("cli_1",),
        "start": START,
        "duration_min": 50,
        "modality": Modality.TELEHEALTH,
        "status": status,
        "created_at": START,
        "updated_at": START,
        **kw,
    }
    return Appointment(**fields)  # type: ignore[arg-type]


def joined(minutes: float, kind: str = "client", channel: str = "email") -> Participation:
    return Participation(
        peer_id=f"ent_{kind}",
        kind=kind,
        client_id="cli_1",
        channel=channel,
        joined_at=START + timedelta(minutes=minutes),
    )


def segment(*people: Participation, ended: float | None = 50) -> SessionSegment:
    return SessionSegment(
        id="ses_1",
        appointment_id="apt_1",
        clinician_id="stf_1",
        started_at=START - timedelta(minutes=2),
        started_by="stf_1",
        ended_at=None if ended is None else START + timedelta(minutes=ended),
        participants=people,
    )


LATER = START + timedelta(days=1)


@pytest.mark.parametrize(
    ("minutes", "outcome", "late"),
    [
        (-3, Outcome.ATTENDED, 0),
        (10, Outcome.ATTENDED, 10),
        (10.5, Outcome.LATE, 10),
        (25, Outcome.LATE, 25),
    ],
)
def test_joining_after_the_threshold_is_late(minutes: float, outcome: Outcome, late: int) -> None:
    [row] = attendance_rows(appt(), [segment(joined(minutes))], POLICY, LATER)
    assert (row.outcome, row.minutes_late, row.channel) == (outcome, late, "email")


def test_the_late_threshold_comes_from_the_policy() -> None:
    strict = Policy(practice_name="P", late_after_min=2)
    [row] = attendance_rows(appt(), [segment(joined(5))], strict, LATER)
    assert row.outcome is Outcome.LATE


def test_earliest_join_over_segments_counts_and_a_caregiver_attends() -> None:
    first = segment(joined(30))
    second = msgspec_replace(segment(joined(4, kind="contact", channel="sms")), id="ses_2")
    [row] = attendance_rows(appt(), [first, second], POLICY, LATER)
    assert (row.outcome, row.channel) == (Outcome.ATTENDED, "sms")


def msgspec_replace(seg: SessionSegment, **kw: object) -> SessionSegment:
    import msgspec

    return msgspec.structs.replace(seg, **kw)


def test_staff_alone_is_a_no_show_once_the_appointment_ended() -> None:
    staff = Participation(peer_id="stf_1", kind="staff", staff_id="stf_1", joined_at=START)
    [row] = attendance_rows(appt(), [segment(staff)], POLICY, LATER)
    assert (row.outcome, row.joined_at, row.minutes_late) == (Outcome.NO_SHOW, None, None)


def test_undecided_before_the_end_and_missed_is_a_no_show() -> None:
    assert attendance_rows(appt(), [], POLICY, START + timedelta(minutes=20)) == []
    [row] = attendance_rows(appt(Status.MISSED), [], POLICY, START)
    assert row.outcome is Outcome.NO_SHOW


@pytest.mark.parametrize(
    ("status", "outcome"),
    [(Status.CANCELLED, Outcome.CANCELLED), (Status.LATE_CANCELLED, Outcome.LATE_CANCELLED)],
)
def test_cancellations_come_from_the_status(status: Status, outcome: Outcome) -> None:
    [row] = attendance_rows(appt(status), [segment(joined(0))], POLICY, LATER)
    assert row.outcome is outcome


def test_in_person_visits_marked_occurred_are_attended() -> None:
    visit = appt(Status.OCCURRED, modality=Modality.IN_PERSON)
    [row] = attendance_rows(visit, [], POLICY, LATER)
    assert row.outcome is Outcome.ATTENDED


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        (Status.CHECKED_IN, Outcome.ATTENDED),
        (Status.MISSED, Outcome.NO_SHOW),
        (Status.CONFIRMED, None),
        (Status.SCHEDULED, None),
    ],
)
def test_in_person_attendance_is_the_status_not_a_join(
    status: Status, outcome: Outcome | None
) -> None:
    # An in-person visit that ended unmarked is not a no-show: nobody joins a video call
    # for it, so only the status someone records says whether the client came.
    visit = appt(status, modality=Modality.IN_PERSON)
    rows = attendance_rows(visit, [], POLICY, LATER)
    assert [r.outcome for r in rows] == ([outcome] if outcome else [])


def test_one_row_per_client_with_copay() -> None:
    group = appt(client_ids=("cli_1", "cli_2"), copay_collected=True, copay_amount="20.00")
    rows = attendance_rows(group, [segment(joined(0))], POLICY, LATER)
    assert [(r.client_id, r.outcome) for r in rows] == [
        ("cli_1", Outcome.ATTENDED),
        ("cli_2", Outcome.NO_SHOW),
    ]
    assert rows[0].copay_amount == "20.00"
    assert rows[0].copay_collected


def test_session_row_duration_channels_and_local_date() -> None:
    staff = Participation(
        peer_id="stf_1", kind="staff", staff_id="stf_1", channel="x", joined_at=START
    )
    seg = segment(joined(0), joined(1, kind="contact", channel="sms"), staff, ended=40.4)
    row = session_row(seg, appt(copay_amount="5.00"), ZoneInfo("Pacific/Auckland"))
    assert row.duration_min == 42  # started 2 minutes before the start
    assert row.channels == ("email", "sms")
    assert row.date == "2026-03-03"  # already the next day in Auckland
    assert row.client_ids == ("cli_1",)
    assert row.copay_amount == "5.00"


def test_an_open_segment_has_no_duration_and_room_sessions_no_copay() -> None:
    seg = segment(ended=None)
    assert duration_min(seg) is None
    row = session_row(seg, None, ZoneInfo("UTC"))
    assert (row.end, row.copay_collected, row.copay_amount) == (None, False, None)


def test_a_restarted_visit_carries_its_copay_on_its_first_row_only() -> None:
    paid = appt(copay_collected=True, copay_amount="25.00")
    first = SessionSegment(
        id="ses_1", appointment_id="apt_1", clinician_id="stf_1", started_at=START,
        started_by="stf_1", ended_at=START + timedelta(minutes=10),
    )  # fmt: skip
    again = msgspec.structs.replace(
        first, id="ses_2", started_at=START + timedelta(minutes=12), ended_at=None
    )
    rows = session_rows([(again, paid), (first, paid)], ZoneInfo("UTC"))
    assert [(r.session_id, r.copay_collected, r.copay_amount) for r in rows] == [
        ("ses_1", True, "25.00"),
        ("ses_2", False, None),
    ]
