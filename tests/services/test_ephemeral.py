"""The in-memory short-lived state (one server): reservations of tries and single-use
values behave as their shared versions do (``tests/store/pg/test_ephemeral.py``)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from tlh.services.ephemeral import MemoryAttempts, MemoryOnce

T0 = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)


async def test_a_burst_of_reservations_gets_exactly_the_limit() -> None:
    attempts = MemoryAttempts()
    tokens = await asyncio.gather(*(attempts.reserve("k", 100.0, 60.0, 5) for _ in range(12)))
    won = [t for t in tokens if t is not None]
    assert len(won) == 5
    await attempts.release("k", won[0])
    assert await attempts.reserve("k", 100.0, 60.0, 5) is not None
    assert await attempts.reserve("k", 100.0, 60.0, 5) is None
    assert await attempts.reserve("other", 100.0, 60.0, 5) is not None
    assert await attempts.reserve("k", 160.0, 60.0, 5) is not None  # the window moved on


async def test_a_single_use_value_is_taken_once_until_it_expires() -> None:
    once = MemoryOnce(limit=2)
    await once.put("a", b"1", T0 + timedelta(minutes=5))
    assert await once.take("a", T0) == b"1"
    assert await once.take("a", T0) is None
    await once.put("b", b"2", T0 + timedelta(minutes=5))
    assert await once.take("b", T0 + timedelta(minutes=5)) is None  # expired
    for key in ("c", "d", "e"):
        await once.put(key, key.encode(), T0 + timedelta(minutes=5))
    assert await once.take("c", T0) is None  # the oldest was forgotten past the limit
    assert await once.take("e", T0) == b"e"
