"""Reading local times typed by people, and showing UTC times in the practice's zone.

A local wall time can name no instant (the hour skipped when clocks go forward) or two
(the hour repeated when they go back). PEP 495's ``fold`` tells them apart: the two folds
of a normal time share one UTC offset; in a gap or a repeat they differ, and only a
gap fails to survive a round trip through UTC.

Dates people type are kept to the years ``FIRST_YEAR``..``LAST_YEAR``: outside them a
date is a typing error, and the edges of ``datetime`` (years 1 and 9999) overflow as
soon as a time is shifted to UTC or a day's end is computed.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tlh.errors import InvalidInput

# Date and time are both required: a bare date would silently mean midnight.
_LOCAL_RE = re.compile(
    r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}(:?\d{2})?)?$"
)


#: The years a scheduled time or a day asked about may fall in.
FIRST_YEAR = 1900
LAST_YEAR = 2199


def check_year(day: date, what: str) -> date:
    """``day`` itself; ``InvalidInput`` naming ``what`` when its year is out of range."""
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise InvalidInput(f"{what} must be in the years {FIRST_YEAR} to {LAST_YEAR}")
    return day


class LocalTimeIssue(StrEnum):
    """Why a naive local time does not name exactly one instant."""

    GAP = "gap"
    AMBIGUOUS = "ambiguous"


def zone(name: str) -> tzinfo:
    """The ``ZoneInfo`` for an IANA name; ``InvalidInput`` naming the zone if unknown."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError) as exc:
        # ValueError covers names such as "../etc" or "" that ZoneInfo refuses outright.
        raise InvalidInput(f"unknown time zone {name!r}") from exc


def zone_label(tz: tzinfo) -> str:
    """A short human name for ``tz``: the IANA key when there is one."""
    key = getattr(tz, "key", None)
    return key if isinstance(key, str) else str(tz)


def format_offset(offset: timedelta | None) -> str:
    """``-05:00`` style text for a UTC offset (``+00:00`` for ``None``)."""
    minutes = int((offset or timedelta(0)).total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    hours, mins = divmod(abs(minutes), 60)
    return f"{sign}{hours:02d}:{mins:02d}"


def format_local(at: datetime, tz: tzinfo) -> str:
    """``2026-11-23 09:50`` for an aware ``at`` shown in ``tz``."""
    return at.astimezone(tz).strftime("%Y-%m-%d %H:%M")


def local_time_issue(naive: datetime, tz: tzinfo) -> LocalTimeIssue | None:
    """``GAP`` or ``AMBIGUOUS`` when the naive local time is not one instant in ``tz``."""
    first = naive.replace(tzinfo=tz, fold=0)
    second = naive.replace(tzinfo=tz, fold=1)
    if first.utcoffset() == second.utcoffset():
        return None
    round_trip = first.astimezone(UTC).astimezone(tz).replace(tzinfo=None)
    return LocalTimeIssue.AMBIGUOUS if round_trip == naive else LocalTimeIssue.GAP


def resolve_local(naive: datetime, tz: tzinfo) -> datetime:
    """A naive local datetime -> aware UTC; ``InvalidInput`` on a DST gap or ambiguity.

    An already aware datetime is simply converted to UTC.
    """
    if naive.tzinfo is not None:
        return naive.astimezone(UTC)
    issue = local_time_issue(naive, tz)
    shown = naive.strftime("%Y-%m-%dT%H:%M")
    label = zone_label(tz)
    before = format_offset(naive.replace(tzinfo=tz, fold=0).utcoffset())
    after = format_offset(naive.replace(tzinfo=tz, fold=1).utcoffset())
    if issue is LocalTimeIssue.GAP:
        # What a clock that sprang forward reads at that moment: a real time to offer.
        real = naive.replace(tzinfo=tz, fold=0).astimezone(UTC).astimezone(tz)
        raise InvalidInput(
            f"{shown} does not exist in {label}: the clocks skip it at the DST change; "
            f"pick another time (such as {real:%H:%M}) or add an offset (e.g. {shown}{before})"
        )
    if issue is LocalTimeIssue.AMBIGUOUS:
        raise InvalidInput(
            f"{shown} is ambiguous in {label}: the hour repeats at the DST change; "
            f"add an offset ({shown}{before} for the first, {shown}{after} for the second)"
        )
    return naive.replace(tzinfo=tz).astimezone(UTC)


def parse_local(text: str, tz: tzinfo, what: str = "the date") -> datetime:
    """Parse an ISO 8601 date-time typed by a person into an aware UTC datetime.

    Without an offset it is local to ``tz``: a time that falls in a DST gap, or an
    ambiguous one (the repeated hour), is rejected with ``InvalidInput`` whose message
    says which and suggests adding an offset. With an offset (or ``Z``) it is taken as is.
    ``T`` or a space separates date and time; seconds are optional; a bare date is refused.
    A year outside ``FIRST_YEAR``..``LAST_YEAR`` is refused, naming ``what``.
    """
    cleaned = text.strip().upper()
    # The typed text is never echoed: a shifted import column could put a name here.
    if not _LOCAL_RE.match(cleaned):
        raise InvalidInput(
            "not a date and time (expected YYYY-MM-DDTHH:MM, optionally with an offset)"
        )
    try:
        parsed = datetime.fromisoformat(cleaned)
    except ValueError as exc:
        raise InvalidInput("not a valid date and time (no such day or hour)") from exc
    check_year(parsed.date(), what)
    return resolve_local(parsed, tz)


def local_day_bounds(day: date, tz: tzinfo) -> tuple[datetime, datetime]:
    """UTC [start, end) of a local calendar day (23 or 25 hours long on DST days).

    Midnight is read with ``fold=0``: in a zone whose clocks skip midnight this lands on
    the first instant that exists, and a repeated midnight counts from its first pass.
    """
    start = datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz).astimezone(UTC)
    return start, end
