"""Conflicts: double bookings, time off, touching intervals, cancelled entries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tlh.domain.conflicts import find_conflicts, overlaps
from tlh.domain.models import Appointment, Kind, Status

T0 = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
CREATED = datetime(2026, 1, 1, tzinfo=UTC)


def entry(
    id_: str,
    offset_min: int = 0,
    duration_min: int = 60,
    clinicians: tuple[str, ...] = ("stf_1",),
    kind: Kind = Kind.APPOINTMENT,
    status: Status = Status.SCHEDULED,
) -> Appointment:
    return Appointment(
        id=id_,
        kind=kind,
        status=status,
        clinician_ids=clinicians,
        start=T0 + timedelta(minutes=offset_min),
        duration_min=duration_min,
        created_at=CREATED,
        updated_at=CREATED,
    )


CANDIDATE = entry("apt_new")


@pytest.mark.parametrize(
    ("other", "expected"),
    [
        (entry("a", 0), ["double_booked"]),
        (entry("a", 30), ["double_booked"]),
        (entry("a", -30), ["double_booked"]),
        (entry("a", -120, 600), ["double_booked"]),
        (entry("a", 10, 10), ["double_booked"]),
        (entry("a", 60), []),  # starts when the candidate ends
        (entry("a", -60), []),  # ends when the candidate starts
        (entry("a", 59), ["double_booked"]),
        (entry("a", -59), ["double_booked"]),
        (entry("a", 0, clinicians=("stf_2",)), []),
        (entry("a", 0, kind=Kind.EVENT), ["double_booked"]),
        (entry("a", -600, 24 * 60, kind=Kind.VACATION), ["vacation"]),
        (entry("a", 30, kind=Kind.BLACKOUT), ["blackout"]),
        (entry("a", 0, status=Status.CANCELLED), []),
        (entry("a", 0, status=Status.LATE_CANCELLED), []),
        (entry("a", 0, kind=Kind.VACATION, status=Status.CANCELLED), []),
        (entry("a", 0, status=Status.OCCURRED), ["double_booked"]),
        (entry("a", 0, status=Status.MISSED), ["double_booked"]),
    ],
)
def test_single_other(other: Appointment, expected: list[str]) -> None:
    found = find_conflicts(CANDIDATE, [other])
    assert [c.code for c in found] == expected
    for conflict in found:
        assert conflict.other_id == "a"
        assert conflict.clinician_id == "stf_1"


def test_candidate_itself_is_skipped() -> None:
    moved = entry("apt_new", 30)
    assert find_conflicts(CANDIDATE, [moved, CANDIDATE]) == []


@pytest.mark.parametrize("status", [Status.CANCELLED, Status.LATE_CANCELLED])
def test_cancelled_candidate_has_no_conflicts(status: Status) -> None:
    candidate = entry("apt_new", status=status)
    assert find_conflicts(candidate, [entry("a"), entry("v", kind=Kind.VACATION)]) == []


@pytest.mark.parametrize("kind", [Kind.VACATION, Kind.BLACKOUT])
def test_time_off_candidate_may_cover_appointments(kind: Kind) -> None:
    candidate = entry("off", -600, 24 * 60, kind=kind)
    assert find_conflicts(candidate, [entry("a"), entry("b", 120)]) == []


def test_each_shared_clinician_reported() -> None:
    candidate = entry("apt_new", clinicians=("stf_1", "stf_2", "stf_3"))
    others = [
        entry("b", 30, clinicians=("stf_2", "stf_1")),
        entry("a", 0, clinicians=("stf_3",), kind=Kind.VACATION),
        entry("c", 90, clinicians=("stf_1",)),
    ]
    found = find_conflicts(candidate, others)
    assert [(c.other_id, c.clinician_id, c.code) for c in found] == [
        ("a", "stf_3", "vacation"),
        ("b", "stf_1", "double_booked"),
        ("b", "stf_2", "double_booked"),
    ]


def test_message_has_ids_and_times_only() -> None:
    (conflict,) = find_conflicts(CANDIDATE, [entry("apt_old", 30)])
    assert conflict.message == (
        "clinician stf_1 is already booked in apt_old from 2026-11-23T15:30Z to 2026-11-23T16:30Z"
    )


def test_accepts_a_generator() -> None:
    found = find_conflicts(CANDIDATE, (entry(f"a{i}", i * 30) for i in range(4)))
    assert [c.other_id for c in found] == ["a0", "a1"]


def test_zero_length_entry() -> None:
    assert overlaps(entry("a", 30, 0), CANDIDATE)
    assert not overlaps(entry("a", 60, 0), CANDIDATE)


spans = st.tuples(st.integers(-500, 500), st.integers(0, 300))


@given(spans, spans)
def test_overlap_is_symmetric(a: tuple[int, int], b: tuple[int, int]) -> None:
    first, second = entry("x", *a), entry("y", *b)
    assert overlaps(first, second) == overlaps(second, first)


@given(spans, spans)
def test_overlap_matches_minute_sets(a: tuple[int, int], b: tuple[int, int]) -> None:
    # Positive lengths: overlap iff the half-open minute ranges share a minute.
    if a[1] == 0 or b[1] == 0:
        return
    minutes_a = set(range(a[0], a[0] + a[1]))
    minutes_b = set(range(b[0], b[0] + b[1]))
    assert overlaps(entry("x", *a), entry("y", *b)) == bool(minutes_a & minutes_b)
