"""Series expansion: wall time kept across DST, gaps and repeats refused, bounds."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from tlh.domain.recurrence import MAX_OCCURRENCES, expand
from tlh.domain.timeutil import local_time_issue
from tlh.errors import InvalidInput

NY = ZoneInfo("America/New_York")
LONDON = ZoneInfo("Europe/London")


def at(text: str, tz: tzinfo) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=tz)


def walls(times: list[datetime], tz: tzinfo) -> list[str]:
    return [t.astimezone(tz).strftime("%Y-%m-%d %H:%M") for t in times]


def test_weekly_across_november_change_new_york() -> None:
    got = expand("FREQ=WEEKLY;COUNT=4", at("2026-10-19T17:00", NY), NY)
    assert walls(got, NY) == [
        "2026-10-19 17:00",
        "2026-10-26 17:00",
        "2026-11-02 17:00",
        "2026-11-09 17:00",
    ]
    assert [t.hour for t in got] == [21, 21, 22, 22]  # the UTC time moves by an hour
    assert all(t.tzinfo is UTC for t in got)


def test_weekly_across_march_change_new_york() -> None:
    got = expand("RRULE:FREQ=WEEKLY;COUNT=3", at("2026-03-02T17:00", NY), NY)
    assert walls(got, NY) == ["2026-03-02 17:00", "2026-03-09 17:00", "2026-03-16 17:00"]
    assert [t.hour for t in got] == [22, 21, 21]


@pytest.mark.parametrize(
    ("first", "utc_hours"),
    [("2026-03-23T09:00", [9, 8, 8]), ("2026-10-19T09:00", [8, 9, 9])],
)
def test_weekly_across_london_changes(first: str, utc_hours: list[int]) -> None:
    got = expand("FREQ=WEEKLY;COUNT=3", at(first, LONDON), LONDON)
    assert {t.astimezone(LONDON).strftime("%H:%M") for t in got} == {"09:00"}
    assert [t.hour for t in got] == utc_hours


@pytest.mark.parametrize(
    ("first", "tz", "date", "word"),
    [
        ("2026-02-22T02:30", NY, "2026-03-08", "does not exist"),
        ("2026-10-18T01:30", NY, "2026-11-01", "ambiguous"),
        ("2026-03-15T01:30", LONDON, "2026-03-29", "does not exist"),
        ("2026-10-11T01:30", LONDON, "2026-10-25", "ambiguous"),
    ],
)
def test_occurrence_in_gap_or_repeat(first: str, tz: ZoneInfo, date: str, word: str) -> None:
    with pytest.raises(InvalidInput) as info:
        expand("FREQ=WEEKLY;COUNT=5", at(first, tz), tz)
    assert date in str(info.value)
    assert word in str(info.value)


def test_first_start_in_repeated_hour_is_taken_as_given() -> None:
    first = datetime(2026, 11, 1, 6, 30, tzinfo=UTC)  # 01:30 EST, the second pass
    got = expand("FREQ=WEEKLY;COUNT=2", first, NY)
    assert got[0] == first
    assert walls(got, NY)[1] == "2026-11-08 01:30"


def test_count() -> None:
    assert len(expand("FREQ=DAILY;COUNT=1", at("2026-01-05T10:00", NY), NY)) == 1
    got = expand(f"FREQ=DAILY;COUNT={MAX_OCCURRENCES}", at("2026-01-05T10:00", NY), NY)
    assert len(got) == MAX_OCCURRENCES


@pytest.mark.parametrize(
    ("until", "last"),
    [
        ("20261130", "2026-11-30 17:00"),  # a bare date includes that day
        ("20261130T170000", "2026-11-30 17:00"),  # local, inclusive
        ("20261130T165959", "2026-11-23 17:00"),
        ("20261130T220000Z", "2026-11-30 17:00"),  # UTC: 17:00 EST
        ("20261130T215959Z", "2026-11-23 17:00"),
    ],
)
def test_until(until: str, last: str) -> None:
    got = expand(f"FREQ=WEEKLY;UNTIL={until}", at("2026-11-02T17:00", NY), NY)
    assert walls(got, NY)[0] == "2026-11-02 17:00"
    assert walls(got, NY)[-1] == last


def test_unbounded_weekly_cut_at_two_years() -> None:
    got = expand("FREQ=WEEKLY", at("2026-01-05T10:00", NY), NY)
    assert len(got) == 105
    assert got[-1] < at("2028-01-05T10:00", NY)


def test_unbounded_daily_cut_at_max_occurrences() -> None:
    assert len(expand("FREQ=DAILY", at("2026-01-05T10:00", NY), NY)) == MAX_OCCURRENCES


def test_monthly_by_setpos_and_ordinals() -> None:
    first = at("2026-01-20T10:00", NY)  # the third Tuesday of January
    assert walls(expand("FREQ=MONTHLY;BYDAY=TU;BYSETPOS=3;COUNT=3", first, NY), NY) == [
        "2026-01-20 10:00",
        "2026-02-17 10:00",
        "2026-03-17 10:00",
    ]
    assert expand("FREQ=MONTHLY;BYDAY=3TU;COUNT=3", first, NY) == expand(
        "FREQ=MONTHLY;BYDAY=TU;BYSETPOS=3;COUNT=3", first, NY
    )
    last = at("2026-01-30T10:00", NY)  # the last Friday of January
    assert walls(expand("FREQ=MONTHLY;BYDAY=-1FR;COUNT=2", last, NY), NY)[1] == "2026-02-27 10:00"


def test_weekly_several_days_and_interval() -> None:
    got = expand("freq=weekly;interval=2;byday=MO,TH;count=4", at("2026-01-05T10:00", NY), NY)
    assert walls(got, NY) == [
        "2026-01-05 10:00",
        "2026-01-08 10:00",
        "2026-01-19 10:00",
        "2026-01-22 10:00",
    ]


@pytest.mark.parametrize(
    ("rule", "match"),
    [
        ("", "empty"),
        ("RRULE:", "empty"),
        ("FREQ=FORTNIGHTLY", "FREQ"),
        ("FREQ=HOURLY", "FREQ"),
        ("COUNT=3", "FREQ is required"),
        ("FREQ=WEEKLY;COUNT=3;COUNT=4", "twice"),
        ("FREQ=WEEKLY;COUNT=x", "COUNT"),
        ("FREQ=WEEKLY;COUNT=0", "COUNT"),
        ("FREQ=WEEKLY;COUNT=2,3", "one number"),
        (f"FREQ=WEEKLY;COUNT={MAX_OCCURRENCES + 1}", "more than"),
        ("FREQ=WEEKLY;INTERVAL=0", "INTERVAL"),
        ("FREQ=WEEKLY;INTERVAL=-1", "INTERVAL"),
        ("FREQ=WEEKLY;BYHOUR=9", "BYHOUR"),
        ("FREQ=WEEKLY;FOO=1", "FOO"),
        ("FREQ=WEEKLY;BYDAY=XX", "BYDAY"),
        ("FREQ=WEEKLY;BYDAY=2MO", "ordinal"),
        ("FREQ=MONTHLY;BYDAY=6MO", "ordinal"),
        ("FREQ=WEEKLY;BYMONTHDAY=5", "BYMONTHDAY"),
        ("FREQ=MONTHLY;BYMONTHDAY=32", "BYMONTHDAY"),
        ("FREQ=MONTHLY;BYMONTH=13", "BYMONTH"),
        ("FREQ=DAILY;BYSETPOS=1", "BYSETPOS"),
        ("FREQ=WEEKLY;COUNT=2;UNTIL=20270101", "not both"),
        ("FREQ=WEEKLY;UNTIL=2027-01-01", "UNTIL"),
        ("FREQ=WEEKLY;UNTIL=20270230", "UNTIL"),
        ("FREQ=WEEKLY;UNTIL=20260101", "before the first start"),
        ("DTSTART:20260105T100000\nRRULE:FREQ=WEEKLY", "DTSTART"),
        ("FREQ=WEEKLY;DTSTART=20260105T100000", "DTSTART"),
        ("RRULE:FREQ=WEEKLY\nEXDATE:20260112T100000", "single"),
        ("FREQ=WEEKLY;COUNT", "KEY=VALUE"),
        ("FREQ=WEEKLY;Jane Doe=1", "a part is not supported"),
        ("FREQ=WEEKLY;WKST=XX", "WKST"),
        ("FREQ=WEEKLY;BYDAY=TU", "not one of its occurrences"),
        ("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30", "not one of its occurrences"),
        ("FREQ=DAILY;INTERVAL=7;BYDAY=TU", "not one of its occurrences"),
        ("FREQ=MONTHLY;BYDAY=2MO", "not one of its occurrences"),
        ("FREQ=YEARLY;COUNT=3", "more than 2 years"),
        ("FREQ=WEEKLY;UNTIL=20290101", "more than 2 years"),
        ("FREQ=DAILY;UNTIL=20270101", f"more than {MAX_OCCURRENCES}"),
    ],
)
def test_rejected_rules(rule: str, match: str) -> None:
    with pytest.raises(InvalidInput, match=match) as info:
        expand(rule, at("2026-01-05T10:00", NY), NY)  # a Monday, first of its kind
    assert "\n" not in str(info.value)


def test_naive_first_start_rejected() -> None:
    with pytest.raises(InvalidInput, match="time zone"):
        expand("FREQ=WEEKLY;COUNT=2", datetime(2026, 1, 5, 10, 0), NY)


ZONES = [NY, LONDON, ZoneInfo("Australia/Sydney"), ZoneInfo("UTC")]


@settings(max_examples=60, deadline=None)
@given(
    tz=st.sampled_from(ZONES),
    first=st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2030, 1, 1)),
    freq=st.sampled_from(["DAILY", "WEEKLY", "MONTHLY"]),
    interval=st.integers(1, 3),
    count=st.integers(1, 24),
)
def test_expand_keeps_wall_time_and_increases(
    tz: ZoneInfo, first: datetime, freq: str, interval: int, count: int
) -> None:
    naive = first.replace(second=0, microsecond=0)
    assume(local_time_issue(naive, tz) is None)  # the first start is a real, single instant
    start = naive.replace(tzinfo=tz)
    failure = ""
    try:
        got = expand(f"FREQ={freq};INTERVAL={interval};COUNT={count}", start, tz)
    except InvalidInput as exc:
        failure = str(exc)
    if failure:
        # The only ways a plain rule can fail: a DST gap/repeat, or a run past the bound.
        assert any(w in failure for w in ("does not exist", "ambiguous", "more than 2 years"))
        return
    assert len(got) == count
    assert got[0] == start
    assert all(a < b for a, b in itertools.pairwise(got))
    wall = start.astimezone(tz).time()
    assert all(t.astimezone(tz).time() == wall for t in got)
    assert all(t.tzinfo is UTC for t in got)
    assert got[-1] - got[0] < timedelta(days=366 * 2)
