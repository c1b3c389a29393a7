"""Status transitions: every pair of statuses against the documented table."""

from __future__ import annotations

import itertools

import pytest

from tlh.domain.models import Status
from tlh.domain.transitions import allowed_transitions, check_transition
from tlh.errors import InvalidTransition

S = Status
EXPECTED: dict[Status, set[Status]] = {
    S.SCHEDULED: {
        S.CONFIRMED,
        S.CHECKED_IN,
        S.OCCURRED,
        S.MISSED,
        S.CANCELLED,
        S.LATE_CANCELLED,
    },
    S.CONFIRMED: {
        S.SCHEDULED,
        S.CHECKED_IN,
        S.OCCURRED,
        S.MISSED,
        S.CANCELLED,
        S.LATE_CANCELLED,
    },
    S.CHECKED_IN: {S.OCCURRED, S.MISSED, S.CONFIRMED},
    S.OCCURRED: {S.CHECKED_IN},
    S.MISSED: {S.SCHEDULED, S.CONFIRMED, S.OCCURRED},
    S.CANCELLED: {S.SCHEDULED},
    S.LATE_CANCELLED: {S.SCHEDULED},
}

PAIRS = list(itertools.product(Status, Status))


def test_table_covers_every_status() -> None:
    assert set(EXPECTED) == set(Status)


@pytest.mark.parametrize(("current", "new"), PAIRS, ids=[f"{a}->{b}" for a, b in PAIRS])
def test_every_pair(current: Status, new: Status) -> None:
    if new in EXPECTED[current]:
        check_transition(current, new)
        assert new in allowed_transitions(current)
    else:
        with pytest.raises(InvalidTransition) as info:
            check_transition(current, new)
        assert current.value in str(info.value)
        assert new.value in str(info.value)
        assert new not in allowed_transitions(current)


@pytest.mark.parametrize("status", list(Status))
def test_same_status_is_not_a_transition(status: Status) -> None:
    assert status not in allowed_transitions(status)
    with pytest.raises(InvalidTransition, match="already"):
        check_transition(status, status)


def test_error_is_a_conflict_with_its_code() -> None:
    with pytest.raises(InvalidTransition) as info:
        check_transition(S.CANCELLED, S.OCCURRED)
    assert info.value.code == "invalid_transition"
    assert info.value.status == 409
    assert "allowed: scheduled" in str(info.value)


def test_plain_strings_are_accepted() -> None:
    check_transition(S("scheduled"), S("confirmed"))
    assert allowed_transitions(S("occurred")) == frozenset({S.CHECKED_IN})
