"""Reading local times: zones, DST gaps and repeats, day bounds."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tlh.domain.timeutil import (
    FIRST_YEAR,
    LAST_YEAR,
    LocalTimeIssue,
    check_year,
    format_local,
    format_offset,
    local_day_bounds,
    local_time_issue,
    parse_local,
    resolve_local,
    zone,
)
from tlh.errors import InvalidInput

NY = ZoneInfo("America/New_York")
LONDON = ZoneInfo("Europe/London")


def test_zone_known() -> None:
    assert zone("America/New_York") == NY


@pytest.mark.parametrize("name", ["Mars/Base", "", "../etc/passwd", "America/"])
def test_zone_unknown(name: str) -> None:
    with pytest.raises(InvalidInput, match=r"unknown time zone"):
        zone(name)


def test_zone_unknown_message_exact() -> None:
    with pytest.raises(InvalidInput) as info:
        zone("Mars/Base")
    assert str(info.value) == "unknown time zone 'Mars/Base'"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-23T09:50", datetime(2026, 11, 23, 14, 50, tzinfo=UTC)),
        ("2026-11-23 09:50", datetime(2026, 11, 23, 14, 50, tzinfo=UTC)),
        ("2026-11-23T09:50:30", datetime(2026, 11, 23, 14, 50, 30, tzinfo=UTC)),
        ("  2026-07-01t09:00  ", datetime(2026, 7, 1, 13, 0, tzinfo=UTC)),
        ("2026-11-01T01:30-04:00", datetime(2026, 11, 1, 5, 30, tzinfo=UTC)),
        ("2026-11-01T01:30-05:00", datetime(2026, 11, 1, 6, 30, tzinfo=UTC)),
        ("2026-03-08T02:30Z", datetime(2026, 3, 8, 2, 30, tzinfo=UTC)),
        ("2026-03-08T02:30+0100", datetime(2026, 3, 8, 1, 30, tzinfo=UTC)),
    ],
)
def test_parse_local_accepts(text: str, expected: datetime) -> None:
    got = parse_local(text, NY)
    assert got == expected
    assert got.tzinfo is UTC


def test_parse_local_gap() -> None:
    with pytest.raises(InvalidInput) as info:
        parse_local("2026-03-08T02:30", NY)
    message = str(info.value)
    assert "does not exist" in message
    assert "DST" in message
    assert "offset" in message
    assert "03:30" in message
    assert "\n" not in message


def test_parse_local_ambiguous() -> None:
    with pytest.raises(InvalidInput) as info:
        parse_local("2026-11-01T01:30", NY)
    message = str(info.value)
    assert "ambiguous" in message
    assert "-04:00" in message
    assert "-05:00" in message


@pytest.mark.parametrize(
    "text",
    ["2026-11-23", "2026-11-23T", "09:50", "tomorrow", "", "2026-13-01T09:00", "2026-02-30 10:00"],
)
def test_parse_local_rejects(text: str) -> None:
    with pytest.raises(InvalidInput):
        parse_local(text, NY)


def test_parse_local_london_gap_and_repeat() -> None:
    with pytest.raises(InvalidInput, match="does not exist"):
        parse_local("2026-03-29T01:30", LONDON)
    with pytest.raises(InvalidInput, match="ambiguous"):
        parse_local("2026-10-25T01:30", LONDON)
    assert parse_local("2026-10-25T02:30", LONDON) == datetime(2026, 10, 25, 2, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("naive", "issue"),
    [
        (datetime(2026, 3, 8, 2, 0), LocalTimeIssue.GAP),
        (datetime(2026, 3, 8, 2, 59), LocalTimeIssue.GAP),
        (datetime(2026, 3, 8, 3, 0), None),
        (datetime(2026, 3, 8, 1, 59), None),
        (datetime(2026, 11, 1, 1, 0), LocalTimeIssue.AMBIGUOUS),
        (datetime(2026, 11, 1, 1, 59), LocalTimeIssue.AMBIGUOUS),
        (datetime(2026, 11, 1, 2, 0), None),
        (datetime(2026, 11, 1, 0, 59), None),
    ],
)
def test_local_time_issue_edges(naive: datetime, issue: LocalTimeIssue | None) -> None:
    assert local_time_issue(naive, NY) is issue


def test_resolve_local_aware_passthrough() -> None:
    aware = datetime(2026, 11, 2, 1, 30, tzinfo=NY)
    assert resolve_local(aware, NY) == aware
    assert resolve_local(aware, NY).tzinfo is UTC


@pytest.mark.parametrize(
    ("day", "hours"),
    [(date(2026, 3, 8), 23), (date(2026, 11, 1), 25), (date(2026, 7, 4), 24)],
)
def test_local_day_bounds_length(day: date, hours: int) -> None:
    start, end = local_day_bounds(day, NY)
    assert end - start == timedelta(hours=hours)
    assert start.astimezone(NY).replace(tzinfo=None) == datetime.combine(day, datetime.min.time())


def test_local_day_bounds_midnight_gap() -> None:
    # Santiago's clocks jump from 00:00 to 01:00 on 2026-09-06: the day starts at 01:00.
    santiago = ZoneInfo("America/Santiago")
    start, end = local_day_bounds(date(2026, 9, 6), santiago)
    assert start.astimezone(santiago).hour == 1
    assert end - start == timedelta(hours=23)


@pytest.mark.parametrize(
    ("offset", "text"),
    [
        (timedelta(hours=-5), "-05:00"),
        (timedelta(hours=5, minutes=30), "+05:30"),
        (timedelta(0), "+00:00"),
        (None, "+00:00"),
    ],
)
def test_format_offset(offset: timedelta | None, text: str) -> None:
    assert format_offset(offset) == text


def test_format_local() -> None:
    assert format_local(datetime(2026, 11, 23, 14, 50, tzinfo=UTC), NY) == "2026-11-23 09:50"


@pytest.mark.parametrize("text", ["Jane Doe", "jane@example.org 2026-01-01T10:00"])
def test_parse_local_does_not_echo_input(text: str) -> None:
    with pytest.raises(InvalidInput) as info:
        parse_local(text, NY)
    assert "Jane" not in str(info.value)
    assert "jane" not in str(info.value)


@pytest.mark.parametrize(
    "text",
    [
        "9999-12-31T23:00",
        "9999-12-31T23:00Z",
        "0001-01-01T00:30",
        "0001-01-01T00:00+05:00",
        "1899-12-31T23:59",
        "2200-01-01T00:00",
    ],
)
def test_parse_local_refuses_years_out_of_range(text: str) -> None:
    # The ends of datetime overflow once shifted to UTC; a clear error names the field.
    with pytest.raises(InvalidInput) as info:
        parse_local(text, NY, "start")
    assert str(info.value) == f"start must be in the years {FIRST_YEAR} to {LAST_YEAR}"


@pytest.mark.parametrize("text", ["1900-01-01T12:00Z", "2199-12-31T12:00"])
def test_parse_local_accepts_the_ends_of_the_range(text: str) -> None:
    assert parse_local(text, NY).year in (FIRST_YEAR, LAST_YEAR)


def test_check_year() -> None:
    assert check_year(date(2026, 1, 1), "date") == date(2026, 1, 1)
    with pytest.raises(InvalidInput, match=r"^to must be in the years"):
        check_year(date(9999, 12, 31), "to")
