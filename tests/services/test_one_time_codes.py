"""The in-memory table of one-time codes: a code works once, until it expires, and only
while its entry is the subject's current one."""

from __future__ import annotations

from datetime import timedelta

from tests.messaging.support import Clock
from tlh.services.one_time_codes import OneTimeCodes

TTL = timedelta(minutes=10)


async def test_a_code_works_once_for_its_subject_only() -> None:
    clock, codes = Clock(), OneTimeCodes()
    entry = await codes.open("portal:a", TTL, clock)
    assert await codes.check("portal:a", "123456", clock()) is False  # nothing made yet
    code = await codes.issue(entry)
    assert code is not None
    assert len(code) == 6
    assert code.isdigit()
    assert await codes.check("portal:b", code, clock()) is False
    assert await codes.check("portal:a", code, clock()) is True
    assert await codes.check("portal:a", code, clock()) is False
    assert not await codes.pending(entry)


async def test_a_code_expires_by_the_checkers_clock_from_when_it_was_made() -> None:
    clock, codes = Clock(), OneTimeCodes()
    entry = await codes.open("identity:l", TTL, clock)
    clock.advance(hours=1)  # queued a long time: its life starts when it is made
    code = await codes.issue(entry)
    assert code is not None
    clock.advance(minutes=10)
    assert await codes.check("identity:l", code, clock()) is False


async def test_a_new_request_or_a_void_kills_the_code() -> None:
    clock, codes = Clock(), OneTimeCodes()
    first = await codes.open("portal:a", TTL, clock)
    old = await codes.issue(first)
    second = await codes.open("portal:a", TTL, clock)
    assert not await codes.pending(first)
    assert await codes.issue(first) is None
    assert old is not None
    assert await codes.check("portal:a", old, clock()) is False
    code = await codes.issue(second)
    assert code is not None
    await codes.void(second)
    assert await codes.check("portal:a", code, clock()) is False
    assert await codes.pending(second)  # a retry makes a new one
    again = await codes.issue(second)
    assert again is not None
    assert await codes.check("portal:a", again, clock()) is True


async def test_the_oldest_entries_are_forgotten_past_the_limit() -> None:
    clock, codes = Clock(), OneTimeCodes(limit=2)
    ids = [await codes.open(f"portal:{n}", TTL, clock) for n in range(3)]
    assert [await codes.pending(i) for i in ids] == [False, True, True]
