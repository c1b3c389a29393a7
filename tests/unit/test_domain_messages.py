"""The outbox's retry schedule: 30 s doubling, capped at 30 minutes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tlh.domain.messages import MAX_ATTEMPTS, next_attempt_at

NOW = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("attempts", "delay"),
    [
        (0, timedelta(seconds=5)),
        (1, timedelta(seconds=5)),
        (2, timedelta(seconds=10)),
        (3, timedelta(seconds=20)),
        (9, timedelta(seconds=1280)),
        (10, timedelta(minutes=30)),  # 2560 s would pass the cap
        (11, timedelta(minutes=30)),
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
    assert timedelta(hours=1) < total < timedelta(hours=3)
