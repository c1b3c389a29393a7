"""Collisions of an appointment with a clinician's other calendar entries."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from tlh.domain.models import Appointment, ConflictFound, Kind, Status

#: Entries in these statuses free their time.
_INACTIVE = frozenset({Status.CANCELLED, Status.LATE_CANCELLED})
#: Time-off kinds: they may cover existing appointments (the conflict is reported when
#: an appointment is added into them, not the other way round).
_TIME_OFF = frozenset({Kind.VACATION, Kind.BLACKOUT})


def holds_time(entry: Appointment) -> bool:
    """Whether ``entry`` keeps its clinicians busy (every status but the cancelled ones;
    vacations and blackouts included): what a conflict check and open slots count."""
    return entry.status not in _INACTIVE


def find_conflicts(candidate: Appointment, others: Iterable[Appointment]) -> list[ConflictFound]:
    """Conflicts of ``candidate`` with ``others`` (which may include itself: skipped by id).

    For each clinician on ``candidate``: another appointment/event of that clinician that
    overlaps in time -> ``double_booked``; a vacation or blackout of that clinician that
    overlaps -> ``vacation`` / ``blackout``. Cancelled and late-cancelled entries never
    conflict. Touching intervals (one ends when the other starts) do not overlap.
    Blackouts are per clinician here. A cancelled candidate, or a vacation/blackout
    candidate, has no conflicts. Math in UTC; results are ordered by the other entry's
    start, then id, then the clinician's place on the candidate.
    """
    if candidate.status in _INACTIVE or candidate.kind in _TIME_OFF:
        return []
    found: list[ConflictFound] = []
    ordered = sorted(others, key=lambda o: (o.start, o.id))
    for other in ordered:
        if other.id == candidate.id or other.status in _INACTIVE:
            continue
        if not overlaps(candidate, other):
            continue
        for clinician_id in candidate.clinician_ids:
            if clinician_id in other.clinician_ids:
                found.append(_conflict(clinician_id, other))
    return found


def _conflict(clinician_id: str, other: Appointment) -> ConflictFound:
    span = f"{_iso(other.start)} to {_iso(other.end)}"
    if other.kind in _TIME_OFF:
        code = other.kind.value
        message = f"clinician {clinician_id} has {code} {other.id} from {span}"
    else:
        code = "double_booked"
        message = f"clinician {clinician_id} is already booked in {other.id} from {span}"
    return ConflictFound(code=code, clinician_id=clinician_id, other_id=other.id, message=message)


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%MZ")


def overlaps(a: Appointment, b: Appointment) -> bool:
    """Whether the half-open spans ``[start, end)`` of ``a`` and ``b`` share any instant."""
    return a.start < b.end and b.start < a.end
