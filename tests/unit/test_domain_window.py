"""The join window: defaults, policy overrides and both edges."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tlh.domain.models import Appointment, Policy
from tlh.domain.window import JoinWindow, join_window

START = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
CREATED = datetime(2026, 1, 1, tzinfo=UTC)


def appt(start: datetime = START) -> Appointment:
    return Appointment(
        id="apt_1",
        clinician_ids=("stf_1",),
        start=start,
        duration_min=50,
        created_at=CREATED,
        updated_at=CREATED,
    )


def test_default_window() -> None:
    window = join_window(appt(), Policy(practice_name="p"))
    assert window == JoinWindow(START - timedelta(minutes=10), START + timedelta(hours=5))


def test_policy_window() -> None:
    policy = Policy(practice_name="p", window_opens_before_min=300, window_closes_after_min=60)
    window = join_window(appt(), policy)
    assert window.opens == START - timedelta(hours=5)
    assert window.closes == START + timedelta(hours=1)


@pytest.mark.parametrize(
    ("offset", "inside"),
    [
        (timedelta(minutes=-10, microseconds=-1), False),
        (timedelta(minutes=-10), True),
        (timedelta(0), True),
        (timedelta(hours=5, microseconds=-1), True),
        (timedelta(hours=5), False),
        (timedelta(days=1), False),
    ],
)
def test_contains_edges(offset: timedelta, inside: bool) -> None:
    window = join_window(appt(), Policy(practice_name="p"))
    assert window.contains(START + offset) is inside
