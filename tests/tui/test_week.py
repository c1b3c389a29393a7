"""``tlh.tui.week``: one week of report rows counted for the Reports screen."""

from __future__ import annotations

from datetime import date

from tlh.tui.week import (
    attendance_line,
    channels_line,
    days_line,
    duration_line,
    summarise,
    week_of,
)

WED = date(2026, 3, 4)


def session(day: str, minutes: int | None, *channels: str) -> dict[str, object]:
    return {"date": day, "duration_min": minutes, "channels": list(channels)}


def test_the_week_runs_monday_to_sunday_whatever_the_day() -> None:
    assert week_of(WED) == (date(2026, 3, 2), date(2026, 3, 8))
    assert week_of(date(2026, 3, 2)) == (date(2026, 3, 2), date(2026, 3, 8))
    assert week_of(date(2026, 3, 8)) == (date(2026, 3, 2), date(2026, 3, 8))


def test_sessions_are_counted_per_day_and_rows_outside_the_week_ignored() -> None:
    rows = [
        session("2026-03-02", 50, "email"),
        session("2026-03-04", 40, "sms", "email"),
        session("2026-03-04", None, "email"),  # still open: no duration
        session("2026-03-01", 90, "quick"),  # the Sunday before
        session("2026-03-09", 90, "quick"),  # the Monday after
    ]
    week = summarise(WED, rows, [])
    assert week.sessions == (1, 0, 2, 0, 0, 0, 0)
    assert days_line(week) == "Mon 1  Tue 0  Wed 2  Thu 0  Fri 0  Sat 0  Sun 0"
    assert week.average_min == 45
    assert duration_line(week) == "45 min over 3 sessions"
    assert channels_line(week) == "email 3 · sms 1"


def test_every_outcome_is_listed_even_when_none_happened() -> None:
    rows = [{"outcome": "attended"}, {"outcome": "late"}, {"outcome": "attended"}]
    rows.append({"outcome": "late_cancelled"})
    week = summarise(WED, [], rows)
    assert attendance_line(week) == (
        "attended 2 · late 1 · no-show 0 · cancelled 0 · late cancelled 1"
    )


def test_an_empty_week_says_so() -> None:
    week = summarise(WED, [], [])
    assert week.sessions == (0,) * 7
    assert duration_line(week) == "no session ended yet"
    assert channels_line(week) == "none yet"
    one = summarise(WED, [session("2026-03-05", 31)], [])
    assert duration_line(one) == "31 min over 1 session"
