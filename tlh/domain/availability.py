"""A clinician's weekly availability blocks: validating them and asking what they cover.

Blocks are wall-clock times in the practice's zone (``"09:00"``-``"17:00"`` on Mondays),
so an interval is checked in local time: it is cut at local midnights and at UTC-offset
changes, and each piece must lie inside the union of that weekday's usable blocks.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime, timedelta, tzinfo

from tlh.domain.models import (
    Appointment,
    AvailabilityBlock,
    AvailabilityMode,
    Blocker,
    Kind,
    Modality,
)
from tlh.domain.timeutil import format_local, local_day_bounds
from tlh.errors import InvalidInput

_DAY_SECONDS = 24 * 3600
_HHMM_RE = re.compile(r"^(\d{2}):(\d{2})$")
_WEEKDAY_NAMES = (
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
)
#: The block modes that serve each modality.
_SERVES: dict[Modality, frozenset[AvailabilityMode]] = {
    Modality.TELEHEALTH: frozenset({AvailabilityMode.TELEHEALTH_ONLY, AvailabilityMode.BOTH}),
    Modality.IN_PERSON: frozenset({AvailabilityMode.IN_PERSON, AvailabilityMode.BOTH}),
}


def parse_weekday(text: str) -> int:
    """``"mon"``, ``"monday"`` or ``"0"`` -> 0 (Monday) ... 6 (Sunday); else ``InvalidInput``."""
    cleaned = text.strip().lower()
    if cleaned.isdigit() and int(cleaned) < 7:
        return int(cleaned)
    for number, name in enumerate(_WEEKDAY_NAMES):
        if cleaned in (name, name[:3]):
            return number
    raise InvalidInput("not a weekday (use mon..sun, monday..sunday or 0..6)")


def parse_hhmm(text: str, *, allow_end_of_day: bool = False) -> int:
    """Minutes since local midnight of an ``"HH:MM"`` time; ``"24:00"`` only if allowed."""
    match = _HHMM_RE.match(text)
    if match:
        hours, minutes = int(match.group(1)), int(match.group(2))
        if hours < 24 and minutes < 60:
            return hours * 60 + minutes
        if allow_end_of_day and (hours, minutes) == (24, 0):
            return 24 * 60
    raise InvalidInput("not a time of day (expected HH:MM, 00:00 to 23:59; 24:00 as an end)")


def validate_block(weekday: int, start_local: str, end_local: str) -> None:
    """Raise ``InvalidInput`` unless 0 <= weekday <= 6 and ``start_local < end_local``.

    Times are ``"HH:MM"``; the end may be ``"24:00"`` for a block running to midnight.
    """
    if isinstance(weekday, bool) or not isinstance(weekday, int) or not 0 <= weekday <= 6:
        raise InvalidInput(f"weekday must be 0 (Monday) to 6 (Sunday), got {weekday!r}")
    start = parse_hhmm(start_local)
    end = parse_hhmm(end_local, allow_end_of_day=True)
    if end <= start:
        raise InvalidInput(f"the block must end after it starts ({start_local} to {end_local})")


def _offset(at: datetime, tz: tzinfo) -> timedelta | None:
    return at.astimezone(tz).utcoffset()


def _local_pieces(start: datetime, end: datetime, tz: tzinfo) -> Iterator[tuple[int, float, float]]:
    """(weekday, from, to) in seconds since local midnight, one per constant-offset day piece."""
    cur = start
    while cur < end:
        local = cur.astimezone(tz)
        piece_end = min(end, local_day_bounds(local.date(), tz)[1])
        offset = _offset(cur, tz)
        last = piece_end - timedelta(microseconds=1)
        if _offset(last, tz) != offset:
            # Bisect to the first second with the new offset (zones change on whole seconds).
            lo, hi = cur, piece_end
            while hi - lo > timedelta(seconds=1):
                mid = lo + (hi - lo) // 2
                if _offset(mid, tz) == offset:
                    lo = mid
                else:
                    hi = mid
            piece_end = hi
        begin = local.hour * 3600 + local.minute * 60 + local.second + local.microsecond / 1e6
        yield local.weekday(), begin, begin + (piece_end - cur).total_seconds()
        cur = piece_end


def _union_covers(spans: list[tuple[int, int]], begin: float, finish: float) -> bool:
    reached = begin
    for span_start, span_end in sorted(spans):
        if span_start > reached:
            break
        reached = max(reached, span_end)
        if reached >= finish:
            return True
    return reached >= finish


def covers(
    blocks: Sequence[AvailabilityBlock],
    start_utc: datetime,
    end_utc: datetime,
    tz: tzinfo,
    modality: Modality,
) -> bool:
    """Whether the weekly ``blocks`` cover ``[start_utc, end_utc)`` in ``tz`` for ``modality``.

    Telehealth needs ``telehealth_only`` or ``both`` blocks; in-person needs ``in_person``
    or ``both``. Touching blocks join (09:00-12:00 and 12:00-15:00 cover 11:00-13:00).
    An empty interval is covered when its instant lies inside a usable block.
    """
    if end_utc < start_utc:
        raise InvalidInput("the interval ends before it starts")
    usable = _SERVES[Modality(modality)]
    by_day: dict[int, list[tuple[int, int]]] = {}
    for block in blocks:
        if block.mode in usable:
            span = (
                parse_hhmm(block.start_local) * 60,
                parse_hhmm(block.end_local, allow_end_of_day=True) * 60,
            )
            by_day.setdefault(block.weekday, []).append(span)
    if end_utc == start_utc:
        local = start_utc.astimezone(tz)
        moment = local.hour * 3600 + local.minute * 60 + local.second
        return any(a <= moment < b for a, b in by_day.get(local.weekday(), []))
    return all(
        _union_covers(by_day.get(weekday, []), begin, finish)
        for weekday, begin, finish in _local_pieces(start_utc, end_utc, tz)
    )


#: ``availability_warnings`` codes: the time is in a block for the other modality only;
#: the time is outside every block.
WRONG_MODE = "availability_mode"
OUTSIDE = "outside_availability"


def availability_warnings(
    appt: Appointment,
    blocks: Mapping[str, Sequence[AvailabilityBlock]],
    tz: tzinfo,
    names: Mapping[str, str] | None = None,
) -> tuple[Blocker, ...]:
    """Why ``appt`` falls outside its clinicians' availability (empty: it does not).

    ``blocks`` holds each clinician's weekly blocks by staff id; a clinician with none
    has not set their availability, and is not checked. Only appointments are (events,
    vacations and blackouts are not visits). Each clinician gives at most one warning:
    ``availability_mode`` when the time lies in their blocks for the other modality
    only (an in-person visit in telehealth-only hours), else ``outside_availability``.
    ``names`` (staff id -> display name) words the messages; ids otherwise. Warnings,
    not errors: a practice books outside the hours it published, knowingly.
    """
    if appt.kind is not Kind.APPOINTMENT:
        return ()
    found: list[Blocker] = []
    when = format_local(appt.start, tz)
    for clinician_id in appt.clinician_ids:
        own = blocks.get(clinician_id, ())
        if not own or covers(own, appt.start, appt.end, tz, appt.modality):
            continue
        who = (names or {}).get(clinician_id) or clinician_id
        other = Modality.IN_PERSON if appt.modality is Modality.TELEHEALTH else Modality.TELEHEALTH
        if covers(own, appt.start, appt.end, tz, other):
            only = "by video" if other is Modality.TELEHEALTH else "in person"
            found.append(
                Blocker(
                    code=WRONG_MODE,
                    message=f"{who} sees clients only {only} at {when}; this visit is "
                    f"{appt.modality.value.replace('_', ' ')}",
                )
            )
        else:
            found.append(Blocker(code=OUTSIDE, message=f"{when} is outside {who}'s availability"))
    return tuple(found)
