"""The outbox's retry schedule: 30 s doubling, capped at 30 minutes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tlh.domain.messages import MAX_ATTEMPTS, next_attempt_at

NOW = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("attempts", "delay"),
    [
        (0, timedelta(seconds=30)),
        (1, timedelta(seconds=30)),
        (2, timedelta(seconds=60)),
        (3, timedelta(seconds=120)),
        (6, timedelta(seconds=960)),
        (7, timedelta(minutes=30)),  # 1920 s would pass the cap
        (8, timedelta(minutes=30)),
        (1000, timedelta(minutes=30)),
    ],
)
def test_backoff(attempts: int, delay: timedelta) -> None:
    assert next_attempt_at(attempts, NOW) - NOW == delay


def test_backoff_never_shrinks_and_keeps_the_zone() -> None:
    delays = [next_attempt_at(n, NOW) - NOW for n in range(1, MAX_ATTEMPTS + 5)]
    assert delays == sorted(delays)
    assert next_attempt_at(3, NOW).tzinfo is UTC


def test_max_attempts_gives_up_within_hours() -> None:
    total = sum((next_attempt_at(n, NOW) - NOW for n in range(1, MAX_ATTEMPTS)), timedelta())
    assert timedelta(minutes=30) < total < timedelta(hours=3)
