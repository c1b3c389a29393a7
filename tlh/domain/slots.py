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

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import lru_cache

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
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


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


def busy_of(entries: Iterable[Appointment]) -> list[tuple[int, int]]:
    """Epoch-second ``(start, end)`` of the entries that hold time, by start: what
    ``open_slots`` takes (the store keeps them so: ``Repository.busy_between``)."""
    return sorted(
        (int(e.start.timestamp()), int(e.start.timestamp()) + e.duration_min * 60)
        for e in entries
        if holds_time(e)
    )


_Shape = tuple[tuple[int, str, str, AvailabilityMode], ...]


def _shape(own: Sequence[AvailabilityBlock]) -> _Shape:
    """A clinician's blocks without ids: clinicians keeping the same hours share a grid."""
    return tuple(sorted((b.weekday, b.start_local, b.end_local, b.mode) for b in own))


_Cells = tuple[tuple[int, tuple[Modality, ...]], ...]


@lru_cache(maxsize=256)
def _steady_grid(
    shape: _Shape, wanted: tuple[Modality, ...], length: int
) -> dict[int, tuple[tuple[int, ...], _Cells]]:
    """``_grid`` of a shape in seconds from local midnight (cached: it is pure)."""
    own = _blocks(shape)
    spans = {m: _spans(own, m) for m in _MODALITIES}
    grid = _grid(spans, wanted, length)
    out: dict[int, tuple[tuple[int, ...], _Cells]] = {}
    for day, slots in grid.items():
        cells = tuple((minute * 60, modes) for minute, modes in slots)
        out[day] = (tuple(off for off, _ in cells), cells)
    return out


def _grid(
    spans: Mapping[Modality, Mapping[int, list[tuple[int, int]]]],
    wanted: Sequence[Modality],
    length: int,
) -> dict[int, list[tuple[int, tuple[Modality, ...]]]]:
    """Weekday -> (minute of the day, modes) of every slot of a steady day: back to back
    from the start of each span serving a wanted modality; modes: those whose spans hold
    the whole slot."""
    grid: dict[int, list[tuple[int, tuple[Modality, ...]]]] = {}
    for day in _WEEK:
        starts: set[int] = set()
        for mode in wanted:
            for begin, finish in spans[mode][day]:
                starts.update(range(begin, finish - length + 1, length))
        found: list[tuple[int, tuple[Modality, ...]]] = []
        for minute in sorted(starts):
            modes = tuple(
                m
                for m in _MODALITIES
                if any(a <= minute and minute + length <= b for a, b in spans[m][day])
            )
            if any(m in modes for m in wanted):
                found.append((minute, modes))
        grid[day] = found
    return grid


def _shifting_day(
    day: date,
    own: Sequence[AvailabilityBlock],
    spans: Mapping[Modality, Mapping[int, list[tuple[int, int]]]],
    wanted: Sequence[Modality],
    length: int,
    tz: tzinfo,
) -> list[tuple[int, tuple[Modality, ...]]]:
    """(epoch start, modes) of the slots of a day whose UTC offset changes: each span
    resolved to UTC at its ends, slots back to back in real time, each checked with
    ``covers`` (which cuts at the change)."""
    step = timedelta(minutes=length)
    starts: set[datetime] = set()
    for mode in wanted:
        for begin, finish in spans[mode][day.weekday()]:
            at, stop = _at(day, begin, tz), _at(day, finish, tz)
            while at + step <= stop:
                starts.add(at)
                at += step
    found: list[tuple[int, tuple[Modality, ...]]] = []
    for at in sorted(starts):
        modes = tuple(m for m in _MODALITIES if covers(own, at, at + step, tz, m))
        if any(m in modes for m in wanted):
            found.append((int(at.timestamp()), modes))
    return found


def _at(day: date, minute: int, tz: tzinfo) -> datetime:
    """UTC of local ``minute`` of ``day`` (1440: the next midnight)."""
    if minute >= 24 * 60:
        return local_day_bounds(day, tz)[1]
    wall = datetime.combine(day, time(minute // 60, minute % 60), tzinfo=tz)
    return wall.astimezone(UTC)


_Found = tuple[tuple[int, str, "Slot"], ...]


@lru_cache(maxsize=256)
def _clinician_days(
    clinician_id: str,
    shape: _Shape,
    taken: tuple[tuple[int, int], ...],
    days: tuple[tuple[date, int, int, bool], ...],
    length_min: int,
    wanted: tuple[Modality, ...],
    tz: tzinfo,
) -> tuple[_Found, ...]:
    """One clinician's slots on each of ``days``, before the notice and horizon are
    applied. Pure, so remembered: a clinician whose calendar did not change since the
    last question (same ``taken``) costs a lookup; any change to it is a new key."""
    own = _blocks(shape)
    grid = _steady_grid(shape, wanted, length_min)
    length = length_min * 60
    out: list[_Found] = []
    j, n = 0, len(taken)
    for day, base, stop, steady in days:
        while j < n and taken[j][1] <= base and taken[j][0] < base:
            j += 1  # ended before this day (days only move forward)
        spans = []
        k = j
        while k < n and taken[k][0] < stop:
            if taken[k][1] > base or taken[k][0] == taken[k][1] >= base:
                spans.append(taken[k])
            k += 1
        if steady:
            offsets, cells = grid[day.weekday()]
            blocked: set[int] = set()
            for span_start, span_end in spans:
                # Slots overlapping the span: off > start - base - length and
                # off < end - base (slots are sorted and all of one length).
                first = bisect_right(offsets, span_start - base - length)
                blocked.update(range(first, bisect_left(offsets, span_end - base)))
            out.append(
                tuple(
                    _slot(base + off, length, clinician_id, modes)
                    for m, (off, modes) in enumerate(cells)
                    if m not in blocked
                )
            )
        else:
            spans_all = {m: _spans(own, m) for m in _MODALITIES}
            out.append(
                tuple(
                    _slot(at, length, clinician_id, modes)
                    for at, modes in _shifting_day(day, own, spans_all, wanted, length_min, tz)
                    if not any(s < at + length and e > at for s, e in spans)
                )
            )
    return tuple(out)


def _slot(
    at: int, length: int, clinician_id: str, modes: tuple[Modality, ...]
) -> tuple[int, str, Slot]:
    """A slot with its sort key (start, clinician): made once, kept in the memo."""
    start = _EPOCH + timedelta(seconds=at)
    return (
        at,
        clinician_id,
        Slot(
            start=start,
            end=start + timedelta(seconds=length),
            clinician_id=clinician_id,
            modes=modes,
        ),
    )


def _blocks(shape: _Shape) -> list[AvailabilityBlock]:
    """Blocks of a shape (no ids: ``covers`` reads only days, times and modes)."""
    return [
        AvailabilityBlock(id="", clinician_id="", weekday=w, start_local=a, end_local=b, mode=m)
        for w, a, b, m in shape
    ]


def open_slots(
    blocks: Mapping[str, Sequence[AvailabilityBlock]],
    busy: Mapping[str, Sequence[tuple[int, int]]],
    tz: tzinfo,
    within: Bounds,
    length_min: int,
    modality: Modality | None = None,
) -> list[Slot]:
    """Every open slot of each clinician in ``blocks`` (staff id -> weekly blocks) within
    ``within``, ordered by start then clinician.

    ``busy`` holds each clinician's busy time around the range as epoch-second
    ``(start, end)`` spans sorted by start (``busy_of``: the entries that hold time, as
    ``find_conflicts`` counts them). A slot's ``modes`` are the modalities its blocks
    serve for the whole slot; ``modality`` keeps only the slots bookable in it.
    Seconds, not datetimes, inside: 50 clinicians over 60 days is ~25,000 candidates.
    """
    if length_min <= 0:
        raise ValueError("length_min must be positive")
    wanted = (modality,) if modality is not None else _MODALITIES
    length = length_min * 60
    earliest = -int(-within.earliest.timestamp() // 1)  # a slot starts at or after it
    latest, until = int(within.latest.timestamp()), int(within.until.timestamp())
    first_day = within.earliest.astimezone(tz).date()
    last_day = min(within.latest, within.until).astimezone(tz).date()
    days: list[tuple[date, int, int, bool]] = []
    for i in range((last_day - first_day).days + 1):
        day = first_day + timedelta(days=i)
        day_start, day_end = local_day_bounds(day, tz)
        steady = (
            day_start.astimezone(tz).utcoffset()
            == (day_end - timedelta(microseconds=1)).astimezone(tz).utcoffset()
        )
        days.append((day, int(day_start.timestamp()), int(day_end.timestamp()), steady))
    by_day: list[list[tuple[int, str, Slot]]] = [[] for _ in days]
    shown = tuple(days)
    for clinician_id, own in blocks.items():
        if not own:
            continue
        per_day = _clinician_days(
            clinician_id, _shape(own), tuple(busy.get(clinician_id, ())), shown, length_min,
            wanted, tz,
        )  # fmt: skip
        for i, (_, base, stop, _) in enumerate(days):
            picked = per_day[i]
            if not (base >= earliest and stop <= latest and stop <= until):
                picked = tuple(
                    p for p in picked if earliest <= p[0] <= latest and p[0] + length <= until
                )
            by_day[i] += picked
    found: list[Slot] = []
    for today in by_day:
        today.sort()  # (start, clinician) is unique: slots themselves are never compared
        found += [slot for _, _, slot in today]
    return found
