"""Availability blocks: validation, weekday names and coverage in local time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tlh.domain.availability import (
    OUTSIDE,
    WRONG_MODE,
    availability_warnings,
    covers,
    parse_hhmm,
    parse_weekday,
    validate_block,
)
from tlh.domain.models import Appointment, AvailabilityBlock, AvailabilityMode, Kind, Modality
from tlh.errors import InvalidInput

NY = ZoneInfo("America/New_York")
M = AvailabilityMode


def block(weekday: int, start: str, end: str, mode: AvailabilityMode = M.BOTH) -> AvailabilityBlock:
    return AvailabilityBlock(
        id=f"avb_{weekday}_{start}",
        clinician_id="stf_1",
        weekday=weekday,
        start_local=start,
        end_local=end,
        mode=mode,
    )


def local(text: str) -> datetime:
    """A New York wall time (unambiguous in these tests) as UTC."""
    return datetime.fromisoformat(text).replace(tzinfo=NY).astimezone(UTC)


@pytest.mark.parametrize(
    ("text", "day"),
    [("mon", 0), ("Monday", 0), ("0", 0), (" SUN ", 6), ("sunday", 6), ("6", 6), ("wed", 2)],
)
def test_parse_weekday(text: str, day: int) -> None:
    assert parse_weekday(text) == day


@pytest.mark.parametrize("text", ["7", "-1", "mo", "funday", "", "1.0"])
def test_parse_weekday_rejects(text: str) -> None:
    with pytest.raises(InvalidInput, match="weekday"):
        parse_weekday(text)


@pytest.mark.parametrize(
    ("weekday", "start", "end"),
    [(0, "09:00", "17:00"), (6, "00:00", "24:00"), (3, "23:58", "23:59")],
)
def test_validate_block_accepts(weekday: int, start: str, end: str) -> None:
    validate_block(weekday, start, end)


@pytest.mark.parametrize(
    ("weekday", "start", "end", "match"),
    [
        (7, "09:00", "17:00", "weekday"),
        (-1, "09:00", "17:00", "weekday"),
        (True, "09:00", "17:00", "weekday"),
        (0, "25:00", "26:00", "time of day"),
        (0, "09:60", "17:00", "time of day"),
        (0, "9:00", "17:00", "time of day"),
        (0, "24:00", "24:00", "time of day"),
        (0, "09:00", "24:01", "time of day"),
        (0, "17:00", "09:00", "end after"),
        (0, "09:00", "09:00", "end after"),
    ],
)
def test_validate_block_rejects(weekday: int, start: str, end: str, match: str) -> None:
    with pytest.raises(InvalidInput, match=match):
        validate_block(weekday, start, end)


def test_parse_hhmm() -> None:
    assert parse_hhmm("09:30") == 570
    assert parse_hhmm("24:00", allow_end_of_day=True) == 1440


# 2026-11-23 is a Monday.
MONDAY_BLOCKS = [block(0, "09:00", "12:00"), block(0, "12:00", "15:00", M.TELEHEALTH_ONLY)]


@pytest.mark.parametrize(
    ("start", "end", "modality", "expected"),
    [
        ("2026-11-23T09:00", "2026-11-23T10:00", Modality.TELEHEALTH, True),
        ("2026-11-23T09:00", "2026-11-23T10:00", Modality.IN_PERSON, True),
        ("2026-11-23T11:00", "2026-11-23T13:00", Modality.TELEHEALTH, True),  # touching blocks
        ("2026-11-23T11:00", "2026-11-23T13:00", Modality.IN_PERSON, False),  # 12-15 is telehealth
        ("2026-11-23T14:00", "2026-11-23T15:00", Modality.TELEHEALTH, True),
        ("2026-11-23T14:30", "2026-11-23T15:01", Modality.TELEHEALTH, False),
        ("2026-11-23T08:59", "2026-11-23T10:00", Modality.TELEHEALTH, False),
        ("2026-11-24T09:00", "2026-11-24T10:00", Modality.TELEHEALTH, False),  # Tuesday
        ("2026-11-23T09:30", "2026-11-23T09:30", Modality.TELEHEALTH, True),  # an instant
        ("2026-11-23T15:00", "2026-11-23T15:00", Modality.TELEHEALTH, False),
    ],
)
def test_covers(start: str, end: str, modality: Modality, expected: bool) -> None:
    assert covers(MONDAY_BLOCKS, local(start), local(end), NY, modality) is expected


def test_in_person_block_does_not_serve_telehealth() -> None:
    blocks = [block(0, "09:00", "17:00", M.IN_PERSON)]
    start = local("2026-11-23T10:00")
    assert covers(blocks, start, start + timedelta(hours=1), NY, Modality.IN_PERSON)
    assert not covers(blocks, start, start + timedelta(hours=1), NY, Modality.TELEHEALTH)


def test_local_time_not_utc() -> None:
    # 09:00-10:00 in New York is 14:00-15:00 UTC; a UTC reading would miss the block.
    blocks = [block(0, "09:00", "10:00")]
    assert covers(
        blocks, local("2026-11-23T09:00"), local("2026-11-23T10:00"), NY, Modality.TELEHEALTH
    )
    summer = [block(0, "09:00", "10:00")]
    assert covers(
        summer, local("2026-07-06T09:00"), local("2026-07-06T10:00"), NY, Modality.TELEHEALTH
    )


def test_across_midnight() -> None:
    blocks = [block(0, "22:00", "24:00"), block(1, "00:00", "02:00")]
    start = local("2026-11-23T23:00")
    assert covers(blocks, start, start + timedelta(hours=2), NY, Modality.TELEHEALTH)
    assert not covers(blocks[:1], start, start + timedelta(hours=2), NY, Modality.TELEHEALTH)


def test_spring_forward_day() -> None:
    # 2026-03-08 is a Sunday; 01:30 EST to 03:30 EDT is one real hour.
    blocks = [block(6, "01:00", "02:00"), block(6, "03:00", "04:00")]
    start = datetime(2026, 3, 8, 6, 30, tzinfo=UTC)
    assert covers(blocks, start, start + timedelta(hours=1), NY, Modality.TELEHEALTH)
    assert not covers(blocks[:1], start, start + timedelta(hours=1), NY, Modality.TELEHEALTH)


def test_fall_back_day() -> None:
    # 2026-11-01 is a Sunday; 01:30 EDT to 01:30 EST passes 01:30-02:00 then 01:00-01:30.
    start = datetime(2026, 11, 1, 5, 30, tzinfo=UTC)
    end = start + timedelta(hours=1)
    assert covers([block(6, "01:00", "02:00")], start, end, NY, Modality.TELEHEALTH)
    assert not covers([block(6, "01:30", "02:00")], start, end, NY, Modality.TELEHEALTH)


def test_reversed_interval_rejected() -> None:
    start = local("2026-11-23T10:00")
    with pytest.raises(InvalidInput):
        covers(MONDAY_BLOCKS, start, start - timedelta(minutes=1), NY, Modality.TELEHEALTH)


def test_errors_do_not_echo_input() -> None:
    with pytest.raises(InvalidInput) as info:
        parse_weekday("Jane Doe")
    assert "Jane" not in str(info.value)
    with pytest.raises(InvalidInput) as info:
        parse_hhmm("Jane Doe")
    assert "Jane" not in str(info.value)


def visit(start: str, modality: Modality, kind: Kind = Kind.APPOINTMENT) -> Appointment:
    at = local(start)
    return Appointment(
        id="apt_1",
        kind=kind,
        modality=modality,
        clinician_ids=("stf_1",),
        start=at,
        duration_min=60,
        created_at=at,
        updated_at=at,
    )


@pytest.mark.parametrize(
    ("start", "modality", "codes"),
    [
        ("2026-11-23T09:00", Modality.IN_PERSON, []),
        ("2026-11-23T13:00", Modality.TELEHEALTH, []),
        # Issue 18, item 8: in person inside a "telehealth only" block.
        ("2026-11-23T13:00", Modality.IN_PERSON, [WRONG_MODE]),
        ("2026-11-23T11:30", Modality.IN_PERSON, [WRONG_MODE]),  # half in, half out
        # ... and anything outside every block.
        ("2026-11-23T16:00", Modality.TELEHEALTH, [OUTSIDE]),
        ("2026-11-24T09:00", Modality.IN_PERSON, [OUTSIDE]),  # Tuesday: no blocks
    ],
)
def test_availability_warnings(start: str, modality: Modality, codes: list[str]) -> None:
    found = availability_warnings(visit(start, modality), {"stf_1": MONDAY_BLOCKS}, NY)
    assert [w.code for w in found] == codes


def test_availability_warnings_say_who_and_when_in_local_time() -> None:
    (mode,) = availability_warnings(
        visit("2026-11-23T13:00", Modality.IN_PERSON),
        {"stf_1": MONDAY_BLOCKS},
        NY,
        {"stf_1": "Dr Lee"},
    )
    assert mode.message == (
        "Dr Lee sees clients only by video at 2026-11-23 13:00; this visit is in person"
    )
    (outside,) = availability_warnings(
        visit("2026-11-23T16:00", Modality.TELEHEALTH), {"stf_1": MONDAY_BLOCKS}, NY
    )
    assert outside.message == "2026-11-23 16:00 is outside stf_1's availability"


def test_no_blocks_no_warnings_and_only_visits_are_checked() -> None:
    # A clinician who never set their availability is not held to it.
    assert availability_warnings(visit("2026-11-24T03:00", Modality.IN_PERSON), {}, NY) == ()
    event = visit("2026-11-24T09:00", Modality.IN_PERSON, Kind.EVENT)
    assert availability_warnings(event, {"stf_1": MONDAY_BLOCKS}, NY) == ()
