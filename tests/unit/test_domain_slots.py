"""Open slots: blocks minus booked time, notice, horizon, modes and DST days."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from tlh.domain.models import (
    Appointment,
    AvailabilityBlock,
    AvailabilityMode,
    Kind,
    Modality,
    Status,
)
from tlh.domain.slots import Bounds, Slot, bounds, busy_of, open_slots

NY = ZoneInfo("America/New_York")
T0 = datetime(2026, 1, 1, tzinfo=UTC)
FAR = datetime(2030, 1, 1, tzinfo=UTC)


def block(
    weekday: int, start: str, end: str, mode: AvailabilityMode = AvailabilityMode.BOTH
) -> AvailabilityBlock:
    return AvailabilityBlock(
        id=f"avl_{weekday}_{start}",
        clinician_id="stf_1",
        weekday=weekday,
        start_local=start,
        end_local=end,
        mode=mode,
    )


def entry(
    start: datetime, minutes: int, kind: Kind = Kind.APPOINTMENT, status: Status = Status.SCHEDULED
) -> Appointment:
    return Appointment(
        id=f"apt_{start:%d%H%M}_{kind}",
        kind=kind,
        status=status,
        clinician_ids=("stf_1",),
        start=start,
        duration_min=minutes,
        created_at=T0,
        updated_at=T0,
    )


def day_range(day: datetime) -> Bounds:
    """Every slot of the local ``day`` (no notice, horizon far away)."""
    start = datetime(day.year, day.month, day.day, tzinfo=NY).astimezone(UTC)
    return Bounds(earliest=start, latest=FAR, until=start + timedelta(hours=25))


def local(slots: list[Slot]) -> list[str]:
    return [f"{s.start.astimezone(NY):%H:%M%z}-{s.end.astimezone(NY):%H:%M}" for s in slots]


# 2026-11-23 is a Monday.
MONDAY = datetime(2026, 11, 23)


def test_a_block_gives_back_to_back_slots_of_the_length() -> None:
    found = open_slots({"stf_1": [block(0, "09:00", "12:00")]}, {}, NY, day_range(MONDAY), 50)
    assert local(found) == ["09:00-0500-09:50", "09:50-0500-10:40", "10:40-0500-11:30"]
    assert all(s.end - s.start == timedelta(minutes=50) for s in found)
    assert {s.modes for s in found} == {(Modality.TELEHEALTH, Modality.IN_PERSON)}


def test_booked_time_is_taken_and_cancelled_time_is_free() -> None:
    at_950 = datetime(2026, 11, 23, 9, 50, tzinfo=NY).astimezone(UTC)
    at_1040 = datetime(2026, 11, 23, 10, 40, tzinfo=NY).astimezone(UTC)
    booked = [entry(at_950, 20), entry(at_1040, 50, status=Status.CANCELLED)]
    found = open_slots(
        {"stf_1": [block(0, "09:00", "12:00")]},
        {"stf_1": busy_of(booked)},
        NY,
        day_range(MONDAY),
        50,
    )
    assert local(found) == ["09:00-0500-09:50", "10:40-0500-11:30"]


def test_missed_appointments_still_hold_their_time_as_conflicts_count_them() -> None:
    at_9 = datetime(2026, 11, 23, 9, 0, tzinfo=NY).astimezone(UTC)
    found = open_slots(
        {"stf_1": [block(0, "09:00", "10:00")]},
        {"stf_1": busy_of([entry(at_9, 10, status=Status.MISSED)])},
        NY,
        day_range(MONDAY),
        50,
    )
    assert found == []


def test_vacations_and_blackouts_remove_slots() -> None:
    at_8 = datetime(2026, 11, 23, 8, 0, tzinfo=NY).astimezone(UTC)
    blocks = {"stf_1": [block(0, "09:00", "12:00")]}
    for kind in (Kind.VACATION, Kind.BLACKOUT):
        until_10 = {"stf_1": busy_of([entry(at_8, 2 * 60, kind)])}
        assert local(open_slots(blocks, until_10, NY, day_range(MONDAY), 50)) == [
            "10:40-0500-11:30"
        ]
    whole_day = entry(datetime(2026, 11, 23, 5, 0, tzinfo=UTC), 24 * 60, Kind.VACATION)
    assert open_slots(blocks, {"stf_1": busy_of([whole_day])}, NY, day_range(MONDAY), 50) == []


def test_modes_and_the_modality_filter() -> None:
    blocks = {
        "stf_1": [
            block(0, "09:00", "11:00", AvailabilityMode.IN_PERSON),
            block(0, "11:00", "13:00", AvailabilityMode.TELEHEALTH_ONLY),
        ]
    }
    every = open_slots(blocks, {}, NY, day_range(MONDAY), 60)
    assert [(x, s.modes) for x, s in zip(local(every), every, strict=True)] == [
        ("09:00-0500-10:00", (Modality.IN_PERSON,)),
        ("10:00-0500-11:00", (Modality.IN_PERSON,)),
        ("11:00-0500-12:00", (Modality.TELEHEALTH,)),
        ("12:00-0500-13:00", (Modality.TELEHEALTH,)),
    ]
    video = open_slots(blocks, {}, NY, day_range(MONDAY), 60, Modality.TELEHEALTH)
    assert local(video) == ["11:00-0500-12:00", "12:00-0500-13:00"]


def test_minimum_notice_and_horizon() -> None:
    blocks = {"stf_1": [block(d, "09:00", "10:00") for d in range(7)]}
    now = datetime(2026, 11, 23, 9, 30, tzinfo=NY).astimezone(UTC)  # Monday 09:30
    start = datetime(2026, 11, 23, tzinfo=NY).astimezone(UTC)
    within = bounds(now, start, start + timedelta(days=30), notice_h=24, max_days=5)
    found = open_slots(blocks, {}, NY, within, 50)
    days = [s.start.astimezone(NY).date().isoformat() for s in found]
    # Tuesday 09:00 is 23.5 hours away: inside the notice; Saturday 09:00 is 4 days 23.5 h.
    assert days == ["2026-11-25", "2026-11-26", "2026-11-27", "2026-11-28"]


def test_spring_forward_day() -> None:
    # 2026-03-08 (Sunday): New York skips 02:00-03:00.
    sunday = datetime(2026, 3, 8)
    found = open_slots({"stf_1": [block(6, "00:00", "05:00")]}, {}, NY, day_range(sunday), 60)
    assert len(found) == 4  # five wall hours, four real ones
    for s in found:
        assert s.end - s.start == timedelta(hours=1)
        assert s.start.astimezone(NY).date() == sunday.date()
    assert [s.start.astimezone(UTC).hour for s in found] == [5, 6, 7, 8]
    # No slot overlaps another, none is past 05:00 local.
    assert found[-1].end.astimezone(NY).strftime("%H:%M") == "05:00"


def test_fall_back_day() -> None:
    # 2026-11-01 (Sunday): New York repeats 01:00-02:00.
    sunday = datetime(2026, 11, 1)
    found = open_slots({"stf_1": [block(6, "00:00", "04:00")]}, {}, NY, day_range(sunday), 60)
    assert len(found) == 5  # four wall hours, five real ones
    assert [s.start.astimezone(UTC).hour for s in found] == [4, 5, 6, 7, 8]
    assert found[-1].end.astimezone(NY).strftime("%H:%M%z") == "04:00-0500"


def test_dst_day_business_hours_keep_their_wall_times() -> None:
    sunday = datetime(2026, 3, 8)
    found = open_slots({"stf_1": [block(6, "09:00", "11:00")]}, {}, NY, day_range(sunday), 60)
    assert local(found) == ["09:00-0400-10:00", "10:00-0400-11:00"]


def test_several_clinicians_ordered_by_start() -> None:
    other = AvailabilityBlock(
        id="avl_x", clinician_id="stf_2", weekday=0, start_local="09:30", end_local="10:30"
    )
    found = open_slots(
        {"stf_1": [block(0, "09:00", "11:00")], "stf_2": [other]}, {}, NY, day_range(MONDAY), 60
    )
    assert [(s.clinician_id, s.start.astimezone(NY).strftime("%H:%M")) for s in found] == [
        ("stf_1", "09:00"),
        ("stf_2", "09:30"),
        ("stf_1", "10:00"),
    ]


def test_a_remembered_answer_follows_a_change_of_the_calendar() -> None:
    blocks = {"stf_1": [block(0, "09:00", "11:00")]}
    before = open_slots(blocks, {}, NY, day_range(MONDAY), 60)
    assert local(open_slots(blocks, {}, NY, day_range(MONDAY), 60)) == local(before)
    at_9 = datetime(2026, 11, 23, 9, 0, tzinfo=NY).astimezone(UTC)
    after = open_slots(blocks, {"stf_1": busy_of([entry(at_9, 30)])}, NY, day_range(MONDAY), 60)
    assert local(after) == ["10:00-0500-11:00"]
    moved = [block(0, "10:00", "11:00")]
    assert local(open_slots({"stf_1": moved}, {}, NY, day_range(MONDAY), 60)) == [
        "10:00-0500-11:00"
    ]
