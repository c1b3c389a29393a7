"""Collisions of an appointment with a clinician's other calendar entries."""

from __future__ import annotations

from collections.abc import Iterable

from tlh.domain.models import Appointment, ConflictFound


def find_conflicts(candidate: Appointment, others: Iterable[Appointment]) -> list[ConflictFound]:
    """Conflicts of ``candidate`` with ``others`` (which may include itself: skipped by id).

    For each clinician on ``candidate``: another appointment/event of that clinician that
    overlaps in time -> ``double_booked``; a vacation or blackout of that clinician that
    overlaps -> ``vacation`` / ``blackout``. Cancelled and late-cancelled entries never
    conflict. Touching intervals (one ends when the other starts) do not overlap. A
    blackout with no clinician... (blackouts are per clinician here). Math in UTC.
    """
    raise NotImplementedError


def overlaps(a: Appointment, b: Appointment) -> bool:
    raise NotImplementedError
