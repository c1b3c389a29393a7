"""Open slots: when a client may book a clinician, from the weekly availability blocks
minus what already holds the clinician's time (appointments, events, vacations,
blackouts), within the notice and horizon the practice sets.

Blocks are wall-clock times in the practice's zone. A slot is ``length`` minutes of real
time. Slots run back to back from the start of each span of blocks serving a modality
(touching blocks join), so a day of 09:00-17:00 with 50-minute slots offers 09:00, 09:50
... 16:30. On a day whose UTC offset changes (DST), a span is resolved to UTC at its
ends and every slot is checked with ``tlh.domain.availability.covers``, which cuts at
the change: no slot in a skipped hour, none counted twice in a repeated one.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta, tzinfo

import msgspec

from tlh.domain.availability import covers, parse_hhmm
from tlh.domain.conflicts import holds_time
from tlh.domain.models import Appointment, AvailabilityBlock, AvailabilityMode, Modality
from tlh.domain.timeutil import local_day_bounds

#: Block modes serving each modality (as ``covers`` reads them).
_SERVES: dict[Modality, frozenset[AvailabilityMode]] = {
    Modality.TELEHEALTH: frozenset({AvailabilityMode.TELEHEALTH_ONLY, AvailabilityMode.BOTH}),
    Modality.IN_PERSON: frozenset({AvailabilityMode.IN_PERSON, AvailabilityMode.BOTH}),
}
_MODALITIES = (Modality.TELEHEALTH, Modality.IN_PERSON)
_WEEK = range(7)


class Slot(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """A bookable time of one clinician and the modalities it can be booked in."""

    start: datetime  # aware, UTC
    end: datetime
    clinician_id: str
    modes: tuple[Modality, ...]


class Bounds(msgspec.Struct, frozen=True, kw_only=True):
    """Where slots may lie: start at or after ``earliest`` (now plus the minimum notice),
    at or before ``latest`` (now plus the booking horizon), and end by ``until`` (the end
    of the range asked for)."""

    earliest: datetime
    latest: datetime
    until: datetime


def bounds(
    now: datetime, range_start: datetime, range_end: datetime, notice_h: int, max_days: int
) -> Bounds:
    """The ``Bounds`` of a range asked for at ``now`` under the practice's policy."""
    return Bounds(
        earliest=max(range_start, now + timedelta(hours=notice_h)),
        latest=now + timedelta(days=max_days),
        until=range_end,
    )


def _spans(
    blocks: Iterable[AvailabilityBlock], modality: Modality
) -> dict[int, list[tuple[int, int]]]:
    """Weekday -> merged (start, end) minutes of the blocks serving ``modality``."""
    raw: dict[int, list[tuple[int, int]]] = {d: [] for d in _WEEK}
    usable = _SERVES[modality]
    for block in blocks:
        if block.mode in usable:
            end = parse_hhmm(block.end_local, allow_end_of_day=True)
            raw[block.weekday].append((parse_hhmm(block.start_local), end))
    merged: dict[int, list[tuple[int, int]]] = {}
    for day, spans in raw.items():
        out: list[tuple[int, int]] = []
        for start, end in sorted(spans):
            if out and start <= out[-1][1]:
                out[-1] = (out[-1][0], max(out[-1][1], end))
            else:
                out.append((start, end))
        merged[day] = out
    return merged


def _busy(entries: Iterable[Appointment]) -> tuple[list[datetime], list[datetime]]:
    """Merged busy intervals as parallel sorted lists of starts and ends."""
    spans = sorted((e.start, e.end) for e in entries if holds_time(e))
    starts: list[datetime] = []
    ends: list[datetime] = []
    for start, end in spans:
        if ends and start <= ends[-1]:
            ends[-1] = max(ends[-1], end)
        else:
            starts.append(start)
            ends.append(end)
    return starts, ends


def _free(starts: list[datetime], ends: list[datetime], start: datetime, end: datetime) -> bool:
    """No busy interval overlaps [start, end) (touching is free)."""
    i = bisect_left(ends, start)
    if i < len(ends) and ends[i] == start:
        i += 1  # one that ends as this starts only touches it
    return i >= len(starts) or starts[i] >= end


def _at(day: date, minute: int, tz: tzinfo) -> datetime:
    """UTC of local ``minute`` of ``day`` (1440: the next midnight)."""
    if minute >= 24 * 60:
        return local_day_bounds(day, tz)[1]
    wall = datetime.combine(day, time(minute // 60, minute % 60), tzinfo=tz)
    return wall.astimezone(UTC)


def open_slots(
    blocks: Mapping[str, Sequence[AvailabilityBlock]],
    booked: Mapping[str, Iterable[Appointment]],
    tz: tzinfo,
    within: Bounds,
    length_min: int,
    modality: Modality | None = None,
) -> list[Slot]:
    """Every open slot of each clinician in ``blocks`` (staff id -> weekly blocks) within
    ``within``, ordered by start then clinician.

    ``booked`` holds each clinician's calendar entries around the range (any status: the
    cancelled ones are skipped here, as ``find_conflicts`` skips them). A slot's
    ``modes`` are the modalities its blocks serve for the whole slot; ``modality`` keeps
    only the slots bookable in it. ``length_min`` must be positive.
    """
    if length_min <= 0:
        raise ValueError("length_min must be positive")
    length = timedelta(minutes=length_min)
    wanted = (modality,) if modality is not None else _MODALITIES
    found: list[Slot] = []
    first_day = within.earliest.astimezone(tz).date()
    last_day = min(within.latest, within.until).astimezone(tz).date()
    days = [first_day + timedelta(days=i) for i in range((last_day - first_day).days + 1)]
    for clinician_id, own in blocks.items():
        if not own:
            continue
        spans = {m: _spans(own, m) for m in _MODALITIES}
        busy_starts, busy_ends = _busy(booked.get(clinician_id, ()))
        for day in days:
            day_start, day_end = local_day_bounds(day, tz)
            shifting = (
                day_start.astimezone(tz).utcoffset()
                != (day_end - timedelta(microseconds=1)).astimezone(tz).utcoffset()
            )
            weekday = day.weekday()
            seen: set[datetime] = set()
            for mode in wanted:
                for span_start, span_end in spans[mode][weekday]:
                    at, stop = _at(day, span_start, tz), _at(day, span_end, tz)
                    while at + length <= stop:
                        seen.add(at)
                        at += length
            for at in sorted(seen):
                end = at + length
                if at < within.earliest or at > within.latest or end > within.until:
                    continue
                if not _free(busy_starts, busy_ends, at, end):
                    continue
                modes = tuple(
                    m for m in _MODALITIES if _serves(spans[m], own, m, at, end, tz, shifting)
                )
                if modality is not None and modality not in modes:
                    continue
                if modes:
                    found.append(Slot(start=at, end=end, clinician_id=clinician_id, modes=modes))
    found.sort(key=lambda s: (s.start, s.clinician_id))
    return found


def _serves(
    spans: Mapping[int, list[tuple[int, int]]],
    own: Sequence[AvailabilityBlock],
    mode: Modality,
    start: datetime,
    end: datetime,
    tz: tzinfo,
    shifting: bool,
) -> bool:
    """Whether the blocks serving ``mode`` cover [start, end): on a day with a steady
    offset by minutes of the day; across an offset change by ``covers``."""
    if shifting:
        return covers(own, start, end, tz, mode)
    local = start.astimezone(tz)
    if local.date() != end.astimezone(tz).date() and end.astimezone(tz).time() != time(0):
        return covers(own, start, end, tz, mode)
    begin = local.hour * 60 + local.minute
    finish = begin + int((end - start).total_seconds() // 60)
    return any(a <= begin and finish <= b for a, b in spans[local.weekday()])
