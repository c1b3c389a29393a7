"""Every practice setting has its range; start statuses are never a cancelled visit."""

from __future__ import annotations

import msgspec
import pytest

from tlh.domain import policy
from tlh.domain.models import Policy, Status
from tlh.errors import InvalidInput

DEFAULT = Policy(practice_name="P")


def test_the_defaults_are_valid() -> None:
    policy.check(DEFAULT)


@pytest.mark.parametrize("name", sorted(policy.RANGES))
def test_each_number_is_bounded_on_both_sides(name: str) -> None:
    low, high, _ = policy.RANGES[name]
    for good in (low, high):
        changed = msgspec.structs.replace(DEFAULT, **{name: good})
        if name == "reminder_soon_min_floor":
            changed = msgspec.structs.replace(changed, reminder_soon_min=high)
        policy.check(changed)
    for bad in (low - 1, high + 1):
        with pytest.raises(InvalidInput, match=f"{name} must be between {low} and {high}"):
            policy.check(msgspec.structs.replace(DEFAULT, **{name: bad}))


@pytest.mark.parametrize(
    "statuses",
    [(), (Status.CONFIRMED, Status.CANCELLED), (Status.MISSED,), (Status.LATE_CANCELLED,)],
)
def test_start_statuses_are_startable_ones(statuses: tuple[Status, ...]) -> None:
    with pytest.raises(InvalidInput, match="start_statuses"):
        policy.check(msgspec.structs.replace(DEFAULT, start_statuses=statuses))


def test_the_soon_reminder_floor_is_within_the_soon_reminder() -> None:
    with pytest.raises(InvalidInput, match="reminder_soon_min_floor cannot be more"):
        policy.check(
            msgspec.structs.replace(DEFAULT, reminder_soon_min=20, reminder_soon_min_floor=25)
        )


def test_a_blank_name_is_refused() -> None:
    with pytest.raises(InvalidInput, match="practice_name cannot be empty"):
        policy.check(msgspec.structs.replace(DEFAULT, practice_name="  "))
