"""The relay inlet's bitrate feedback gives the answers aiortc's own estimator gives."""

from __future__ import annotations

import random

from aiortc.rate import RateCounter, RemoteBitrateEstimator

from tlh.media.relay_inlet import BitrateFeedback, WindowRate


def arrivals(seed: int, count: int) -> list[tuple[int, int]]:
    """(arrival ms, bytes): frames 20-50 ms apart, with a silence of over a window now
    and then (the estimator resets its counter after one)."""
    rng = random.Random(seed)
    now, out = 1_000_000, []
    for _ in range(count):
        now += rng.choice((20, 33, 33, 34, 50, 1, 0)) if rng.random() > 0.01 else 1500
        out.append((now, rng.randrange(200, 9000)))
    return out


def test_window_rate_answers_as_aiortcs_rate_counter() -> None:
    theirs, ours = RateCounter(1000, 8000), WindowRate(1000, 8000)

    for now, size in arrivals(1, 2000):
        assert ours.rate(now) == theirs.rate(now)
        theirs.add(size, now)
        ours.add(size, now)
        assert ours.rate(now + 7) == theirs.rate(now + 7)
    theirs.reset()
    ours.reset()
    assert ours.rate(5) is None
    assert theirs.rate(5) is None


def test_the_feedback_sends_the_rembs_aiortcs_estimator_would() -> None:
    feedback, estimator = BitrateFeedback(), RemoteBitrateEstimator()
    ssrc = 1234
    rng = random.Random(2)
    sent, batches, rembs = 0, 0, 0
    theirs: tuple[int, list[int]] | None = None
    for now, size in arrivals(3, 3000):
        sent = (sent + rng.randrange(1000, 3000)) & 0xFFFFFF  # abs-send-time, 6.18 s
        theirs = (
            estimator.add(abs_send_time=sent, arrival_time_ms=now, payload_size=size, ssrc=ssrc)
            or theirs
        )
        ours = feedback.frame(sent, now, size, ssrc)
        if not feedback.frames:  # a batch handed over: the last REMB aiortc sent in it
            assert ours == theirs
            batches += 1
            rembs += ours is not None
            theirs = None

    assert batches > 100
    assert rembs > 10
