"""The failure limiter and the audit gate over a hand-driven clock."""

from __future__ import annotations

from tlh.server.ratelimit import AuditGate, FailureLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_the_block_lifts_as_the_oldest_failure_leaves_the_window() -> None:
    clock = Clock()
    limiter = FailureLimiter(limit=3, window_s=60, clock=clock)
    for step in range(3):
        assert not await limiter.blocked("a")
        await limiter.fail("a")
        clock.now += 10 if step < 2 else 0
    assert await limiter.blocked("a")
    assert not await limiter.blocked("b")
    assert await limiter.retry_after_s("a") == 40  # the first failure, 20 s old, leaves at 60
    refusal = await limiter.refusal("a")
    assert (refusal.status, refusal.details) == (429, {"retry_after_s": 40})
    clock.now += 40
    assert not await limiter.blocked("a")
    assert await limiter.retry_after_s("a") == 0


async def test_keys_are_bounded() -> None:
    limiter = FailureLimiter(limit=1, window_s=60, clock=Clock(), max_keys=2)
    for key in ("a", "b", "c"):
        await limiter.fail(key)
    assert not await limiter.blocked("a")  # the oldest key was dropped
    assert await limiter.blocked("b")
    assert await limiter.blocked("c")


def test_the_audit_gate_writes_one_per_key_per_window_and_caps_the_total() -> None:
    clock = Clock()
    gate = AuditGate(window_s=60, total=3, clock=clock)
    assert [gate.due("a") for _ in range(5)] == [True, False, False, False, False]
    assert [gate.due(k) for k in ("b", "c", "d")] == [True, True, False]  # total of 3
    clock.now += 61
    assert gate.due("a")
    assert gate.due("d")
