"""This week at a glance, from the ``sessions`` and ``attendance`` report rows.

Pure: the Reports screen fetches the rows for Monday..Sunday of the practice's week
and this module counts them. Every figure is also given as text, so the screen
reads the same without colour (the sparkline is only a picture of the day counts).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from tlh.domain.reports import Outcome

#: How outcomes read on screen (report order: the good news first).
OUTCOME_LABELS = {
    Outcome.ATTENDED: "attended",
    Outcome.LATE: "late",
    Outcome.NO_SHOW: "no-show",
    Outcome.CANCELLED: "cancelled",
    Outcome.LATE_CANCELLED: "late cancelled",
}


@dataclass(frozen=True)
class Week:
    """The counts the Reports screen shows."""

    days: tuple[date, ...]
    sessions: tuple[int, ...]  # sessions started on each of ``days``
    attendance: dict[str, int]  # outcome label -> clients, every outcome listed
    average_min: float | None  # mean duration of the ended sessions
    channels: dict[str, int]  # invite channel -> sessions it brought someone to


def week_of(today: date) -> tuple[date, date]:
    """Monday and Sunday of ``today``'s week."""
    monday = today - timedelta(days=today.weekday())
    return monday, monday + timedelta(days=6)


def summarise(
    today: date,
    sessions: Iterable[Mapping[str, Any]],
    attendance: Iterable[Mapping[str, Any]],
) -> Week:
    """Count one week of report rows (rows outside the week are ignored)."""
    monday, _ = week_of(today)
    days = tuple(monday + timedelta(days=i) for i in range(7))
    wanted = {d.isoformat() for d in days}
    rows = [r for r in sessions if r.get("date") in wanted]
    per_day = Counter(str(r["date"]) for r in rows)
    durations = [r["duration_min"] for r in rows if isinstance(r.get("duration_min"), int)]
    channels = Counter(str(c) for r in rows for c in r.get("channels") or ())
    outcomes = Counter(str(r.get("outcome")) for r in attendance)
    return Week(
        days=days,
        sessions=tuple(per_day[d.isoformat()] for d in days),
        attendance={label: outcomes[o.value] for o, label in OUTCOME_LABELS.items()},
        average_min=sum(durations) / len(durations) if durations else None,
        channels=dict(sorted(channels.items(), key=lambda kv: (-kv[1], kv[0]))),
    )


def sessions(count: int) -> str:
    """``1 session``, ``2 sessions``."""
    return f"{count} session{'' if count == 1 else 's'}"


def days_line(week: Week) -> str:
    """``Mon 2  Tue 0  ...``: the chart's numbers as text."""
    return "  ".join(
        f"{d.strftime('%a')} {n}" for d, n in zip(week.days, week.sessions, strict=True)
    )


def attendance_line(week: Week) -> str:
    """``attended 3 · late 1 · no-show 0 · ...``."""
    return " · ".join(f"{label} {n}" for label, n in week.attendance.items())


def duration_line(week: Week) -> str:
    """The average duration in whole minutes, or that no session has ended yet."""
    if week.average_min is None:
        return "no session ended yet"
    return f"{round(week.average_min)} min over {sessions(sum(week.sessions))}"


def channels_line(week: Week) -> str:
    """``email 3 · sms 1``, most used first; ``none yet`` when empty."""
    return " · ".join(f"{c} {n}" for c, n in week.channels.items()) or "none yet"
