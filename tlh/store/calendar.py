"""In-memory calendar index of appointments: by UTC day and by (clinician, UTC day).

Every day an appointment touches holds its id, so a range query looks only at the
days in the range and costs O(results), not O(history).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta

from tlh.domain.models import Appointment
from tlh.errors import InvalidInput
from tlh.store import idset
from tlh.store.busy import BusyIndex

_TICK = timedelta(microseconds=1)


@functools.lru_cache(maxsize=4096)
def month_key(start: datetime) -> str:
    """The partition of an appointment: ``YYYY-MM`` of its UTC start."""
    utc = start.astimezone(UTC)
    return f"{utc.year:04d}-{utc.month:02d}"


def _days(start: datetime, end: datetime) -> list[date]:
    """UTC days touched by [start, end); a zero-length span touches its start day."""
    first = start.astimezone(UTC).date()
    last = (end - _TICK).astimezone(UTC).date() if end > start else first
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def _apt_days(apt: Appointment) -> tuple[date, ...]:
    """``_days`` of an appointment (many share a start and a length: a bulk commit of
    10,000 has a few hundred of them)."""
    return _span_days(apt.start, apt.duration_min)


@functools.lru_cache(maxsize=4096)
def _span_days(start: datetime, duration_min: int) -> tuple[date, ...]:
    if start.tzinfo is not UTC:
        start = start.astimezone(UTC)
    first = start.date()
    if duration_min <= 0:
        return (first,)
    last = (start + timedelta(minutes=duration_min) - _TICK).date()
    if last == first:
        return (first,)
    return tuple(first + timedelta(days=i) for i in range((last - first).days + 1))


def overlaps(apt: Appointment, start: datetime, end: datetime) -> bool:
    """Whether ``apt`` overlaps [start, end) (a zero-length one: starts inside it)."""
    if apt.duration_min <= 0:
        return start <= apt.start < end
    return apt.start < end and apt.end > start


class AppointmentIndex:
    """Day and clinician-day index of appointment ids."""

    def __init__(self) -> None:
        # Id sets as tuples (``tlh.store.idset``): not walked by the cycle collector.
        self._by_day: dict[date, idset.Ids] = {}
        self._by_clinician_day: dict[tuple[str, date], idset.Ids] = {}
        #: The time entries hold, for open slots (``tlh.store.busy``).
        self.busy = BusyIndex()

    def build(self, appointments: Iterable[Appointment]) -> None:
        """Index every appointment afresh (at load), in one pass, written out: through
        ``idset.build`` and generators of pairs it took 40 ms for the 27,000 visits in
        memory at a million stored."""
        by_day: dict[date, list[str]] = {}
        by_clinician_day: dict[tuple[str, date], list[str]] = {}
        day_ids, clinician_day_ids = by_day.get, by_clinician_day.get
        appointments = list(appointments)
        for apt in appointments:
            rid, clinicians = apt.id, apt.clinician_ids
            for day in _span_days(apt.start, apt.duration_min):
                found = day_ids(day)
                if found is None:
                    by_day[day] = [rid]
                else:
                    found.append(rid)
                for clinician in clinicians:
                    key = (clinician, day)
                    found = clinician_day_ids(key)
                    if found is None:
                        by_clinician_day[key] = [rid]
                    else:
                        found.append(rid)
        self._by_day = idset.sealed(by_day)
        self._by_clinician_day = idset.sealed(by_clinician_day)
        self.busy.build(appointments)

    def add(self, apt: Appointment) -> None:
        """Index ``apt`` under every day it touches."""
        for day in _apt_days(apt):
            idset.add(self._by_day, day, apt.id)
            for clinician in apt.clinician_ids:
                idset.add(self._by_clinician_day, (clinician, day), apt.id)
        self.busy.add(apt)

    def add_many(self, appointments: Iterable[Appointment]) -> None:
        """``add`` of each (a bulk commit), each day's id tuple copied once."""
        days = [(apt, _apt_days(apt)) for apt in appointments]
        idset.add_many(self._by_day, ((day, apt.id) for apt, touched in days for day in touched))
        idset.add_many(
            self._by_clinician_day,
            (
                ((clinician, day), apt.id)
                for apt, touched in days
                for day in touched
                for clinician in apt.clinician_ids
            ),
        )
        self.busy.add_many(apt for apt, _ in days)

    def remove(self, apt: Appointment) -> None:
        """Undo ``add(apt)`` (``apt`` is the version that was added)."""
        for day in _apt_days(apt):
            idset.discard(self._by_day, day, apt.id)
            for clinician in apt.clinician_ids:
                idset.discard(self._by_clinician_day, (clinician, day), apt.id)
        self.busy.remove(apt)

    def between(
        self,
        table: dict[str, Appointment],
        start: datetime,
        end: datetime,
        clinician_id: str | None = None,
    ) -> list[Appointment]:
        """Appointments of ``table`` overlapping [start, end), by start then id."""
        if start.utcoffset() is None or end.utcoffset() is None:
            raise InvalidInput("appointments_between needs timezone-aware datetimes")
        if end <= start:
            return []
        days = _days(start, end)
        ids: set[str] = set()
        if clinician_id is None:
            if len(days) > len(self._by_day):  # a huge range: walk the index instead
                days = [d for d in self._by_day if days[0] <= d <= days[-1]]
            for day in days:
                ids.update(idset.members(self._by_day.get(day)))
        else:
            if len(days) > len(self._by_clinician_day):
                keys = [k for k in self._by_clinician_day if k[0] == clinician_id]
                days = [d for _, d in keys if days[0] <= d <= days[-1]]
            for day in days:
                ids.update(idset.members(self._by_clinician_day.get((clinician_id, day))))
        found = [apt for apt in map(table.__getitem__, ids) if overlaps(apt, start, end)]
        found.sort(key=lambda apt: (apt.start, apt.id))
        return found
