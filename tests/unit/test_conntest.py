"""The connection test's verdict rules: thresholds, edges, advice, and what a result may hold."""

from __future__ import annotations

import math

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tlh.api.media import ConnTestResult
from tlh.api.validation import explain
from tlh.domain import conntest as c
from tlh.domain.conntest import Figures, Verdict, assess, check_figures
from tlh.errors import BadRequest

GOOD = Figures(rtt_ms=20.0, jitter_ms=5.0, loss_pct=0.0, bitrate_kbps=450.0)


def with_(**changes: float | None) -> Figures:
    return Figures(**{**{k: getattr(GOOD, k) for k in c.LIMITS}, **changes})


def test_a_clean_line_is_good_with_one_plain_sentence() -> None:
    found = assess(GOOD)
    assert found.verdict is Verdict.GOOD
    assert found.advice == "Your connection looks good for a video call."


@pytest.mark.parametrize(
    ("name", "good_edge", "fair_edge", "beyond"),
    [
        ("rtt_ms", c.RTT_GOOD_MAX_MS, c.RTT_FAIR_MAX_MS, c.RTT_FAIR_MAX_MS + 0.1),
        ("jitter_ms", c.JITTER_GOOD_MAX_MS, c.JITTER_FAIR_MAX_MS, c.JITTER_FAIR_MAX_MS + 0.1),
        ("loss_pct", c.LOSS_GOOD_MAX_PCT, c.LOSS_FAIR_MAX_PCT, c.LOSS_FAIR_MAX_PCT + 0.01),
    ],
)
def test_lower_is_better_figures_grade_at_their_edges(
    name: str, good_edge: float, fair_edge: float, beyond: float
) -> None:
    assert assess(with_(**{name: good_edge})).verdict is Verdict.GOOD
    assert assess(with_(**{name: good_edge + 0.01})).verdict is Verdict.FAIR
    assert assess(with_(**{name: fair_edge})).verdict is Verdict.FAIR
    assert assess(with_(**{name: beyond})).verdict is Verdict.POOR


def test_bitrate_grades_from_the_other_side() -> None:
    assert assess(with_(bitrate_kbps=c.BITRATE_GOOD_MIN_KBPS)).verdict is Verdict.GOOD
    assert assess(with_(bitrate_kbps=c.BITRATE_GOOD_MIN_KBPS - 0.1)).verdict is Verdict.FAIR
    assert assess(with_(bitrate_kbps=c.BITRATE_FAIR_MIN_KBPS)).verdict is Verdict.FAIR
    assert assess(with_(bitrate_kbps=c.BITRATE_FAIR_MIN_KBPS - 0.1)).verdict is Verdict.POOR
    assert assess(with_(bitrate_kbps=0.0)).verdict is Verdict.POOR


def test_thresholds_are_ordered() -> None:
    assert c.RTT_GOOD_MAX_MS < c.RTT_FAIR_MAX_MS
    assert c.JITTER_GOOD_MAX_MS < c.JITTER_FAIR_MAX_MS
    assert c.LOSS_GOOD_MAX_PCT < c.LOSS_FAIR_MAX_PCT
    assert c.BITRATE_FAIR_MIN_KBPS < c.BITRATE_GOOD_MIN_KBPS


def test_the_worst_figure_decides_and_each_problem_is_named_once_with_its_fix() -> None:
    found = assess(with_(jitter_ms=40.0, loss_pct=12.0))
    assert found.verdict is Verdict.POOR
    assert found.advice.startswith("Your connection may not be good enough")
    assert "sound may break up" in found.advice
    assert "gets lost on the way" in found.advice
    assert "delay" not in found.advice
    assert found.advice.count("Move closer to your Wi-Fi router") == 1
    assert found.advice.endswith("turn your camera off.")


def test_fair_advice_names_the_problem_without_the_last_resort() -> None:
    found = assess(with_(bitrate_kbps=200.0))
    assert found.verdict is Verdict.FAIR
    assert "too slow for clear video" in found.advice
    assert "Pause downloads" in found.advice
    assert "mobile data" not in found.advice


def test_unmeasured_figures_are_left_out() -> None:
    assert assess(Figures(rtt_ms=10.0)).verdict is Verdict.GOOD
    assert assess(Figures(loss_pct=30.0)).verdict is Verdict.POOR


def test_nothing_measured_means_the_server_was_not_reached() -> None:
    found = assess(Figures())
    assert found.verdict is Verdict.POOR
    assert "could not reach" in found.advice


@given(
    st.floats(0, 60_000),
    st.floats(0, 60_000),
    st.floats(0, 100),
    st.floats(0, 10_000_000),
)
def test_worse_figures_never_improve_the_verdict(
    rtt: float, jitter: float, loss: float, kbps: float
) -> None:
    order = [Verdict.GOOD, Verdict.FAIR, Verdict.POOR]
    base = Figures(rtt_ms=rtt, jitter_ms=jitter, loss_pct=loss, bitrate_kbps=kbps)
    worse = Figures(rtt_ms=rtt + 100, jitter_ms=jitter + 10, loss_pct=loss, bitrate_kbps=kbps / 2)
    assert order.index(assess(worse).verdict) >= order.index(assess(base).verdict)


def _posted(data: dict[str, object]) -> Figures:
    """A posted result as the route reads it: the request struct (types), then the
    domain's ranges."""
    try:
        measured = msgspec.convert({"device_id": "dev_1", **data}, ConnTestResult)
    except msgspec.ValidationError as exc:
        raise BadRequest(explain(exc, ConnTestResult)) from None
    return check_figures(measured.figures())


def test_a_posted_result_reads_numbers_and_nulls() -> None:
    figures = _posted({"rtt_ms": 12, "jitter_ms": 1.5, "loss_pct": None, "extra": "x"})
    assert figures == Figures(rtt_ms=12.0, jitter_ms=1.5)
    assert isinstance(figures.rtt_ms, float)
    assert _posted({"loss_pct": 100, "bitrate_kbps": 0}).loss_pct == 100.0


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"rtt_ms": -1}, "rtt_ms must be between 0 and 60000"),
        ({"loss_pct": 100.5}, "loss_pct must be between 0 and 100"),
        ({"jitter_ms": 60_001}, "jitter_ms must be between 0 and 60000"),
        ({"bitrate_kbps": 1e12}, "bitrate_kbps must be between 0 and 10000000"),
        ({"rtt_ms": "12"}, "rtt_ms must be a number or null"),
        ({"rtt_ms": True}, "rtt_ms must be a number or null"),
        ({"jitter_ms": math.nan}, "jitter_ms must be a number or null"),
        ({"bitrate_kbps": math.inf}, "bitrate_kbps must be a number or null"),
        ({"loss_pct": [1]}, "loss_pct must be a number or null"),
    ],
)
def test_a_posted_result_outside_sane_ranges_is_refused(
    data: dict[str, object], message: str
) -> None:
    with pytest.raises(BadRequest) as caught:
        _posted(data)
    assert str(caught.value) == message
