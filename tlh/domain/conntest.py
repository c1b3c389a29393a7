"""The connection test's verdict: good, fair or poor, with advice in plain words.

The client page measures a short WebRTC round trip to the server's echo peer (round-trip
time, jitter, packet loss, the bitrate that came back) and the server turns the figures
into what the client and their clinician need to know. The thresholds below are named
with where they come from; a figure the browser could not measure is left out of the
verdict rather than guessed.
"""

from __future__ import annotations

import math
from enum import IntEnum, StrEnum

import msgspec

from tlh.errors import BadRequest

# --- thresholds ---------------------------------------------------------------------------
#: Round trip. ITU-T G.114 keeps one-way mouth-to-ear delay under 150 ms for natural
#: conversation (a 300 ms round trip); Microsoft Teams' Call Quality Dashboard classes a
#: stream as poor above a 500 ms round trip.
RTT_GOOD_MAX_MS = 300.0
RTT_FAIR_MAX_MS = 500.0
#: Jitter. Microsoft Teams' network requirements ask for under 30 ms; above 50 ms WebRTC's
#: adaptive jitter buffer (NetEq) hides it only by adding delay that people notice.
JITTER_GOOD_MAX_MS = 30.0
JITTER_FAIR_MAX_MS = 50.0
#: Packet loss. Teams' network requirements: under 1 %; its Call Quality Dashboard calls
#: audio poor above 10 %, but video freezes well before that, so 5 % is the limit here.
LOSS_GOOD_MAX_PCT = 1.0
LOSS_FAIR_MAX_PCT = 5.0
#: Bitrate that came back through the echo. Teams' bandwidth table: a 1:1 video call needs
#: at least 150 kbps. The echo re-encodes with aiortc's VP8 (target 500 kbps, less on a
#: still picture), so the figure cannot reach Zoom's 600 kbps for high-quality video; over
#: loopback it measured 290-580 kbps with audio. "Good" asks for half the echo's target:
#: the stream came back without the network throttling it much.
BITRATE_GOOD_MIN_KBPS = 250.0
BITRATE_FAIR_MIN_KBPS = 150.0

#: What a browser can sanely report (anything else is a broken or forged request).
LIMITS: dict[str, tuple[float, float]] = {
    "rtt_ms": (0.0, 60_000.0),
    "jitter_ms": (0.0, 60_000.0),
    "loss_pct": (0.0, 100.0),
    "bitrate_kbps": (0.0, 10_000_000.0),
}


class Verdict(StrEnum):
    GOOD = "good"
    FAIR = "fair"
    POOR = "poor"


class _Grade(IntEnum):
    GOOD = 0
    FAIR = 1
    POOR = 2


class Figures(msgspec.Struct, frozen=True, kw_only=True):
    """What the page measured; ``None`` where the browser reported nothing."""

    rtt_ms: float | None = None
    jitter_ms: float | None = None
    loss_pct: float | None = None
    bitrate_kbps: float | None = None

    @property
    def measured(self) -> bool:
        return any(v is not None for v in msgspec.structs.astuple(self))


class Assessment(msgspec.Struct, frozen=True, kw_only=True):
    verdict: Verdict
    advice: str


_LEAD = {
    _Grade.GOOD: "Your connection looks good for a video call.",
    _Grade.FAIR: "Your connection should work, but the call may not always be smooth.",
    _Grade.POOR: "Your connection may not be good enough for a video call right now.",
}
_PROBLEM = {
    "rtt_ms": "There is a delay on your line, so you may talk over each other.",
    "jitter_ms": "Your connection is uneven, so sound may break up.",
    "loss_pct": "Some of the sound and picture gets lost on the way.",
    "bitrate_kbps": "Your connection is too slow for clear video.",
}
_CLOSER = "Move closer to your Wi-Fi router, or use a cable."
_PAUSE = "Pause downloads, streaming and video on other devices on your network."
_FIXES = {
    "rtt_ms": (_CLOSER,),
    "jitter_ms": (_CLOSER, _PAUSE),
    "loss_pct": (_CLOSER,),
    "bitrate_kbps": (_PAUSE,),
}
_LAST_RESORT = (
    "If it stays poor, try another network (such as mobile data) or turn your camera off."
)
_UNREACHABLE = (
    "We could not reach the practice's test server, so a video call may not work on this "
    "network. Try another network (such as mobile data), or call your practice."
)


def _grade(value: float, good: float, fair: float, *, higher_is_better: bool = False) -> _Grade:
    if higher_is_better:
        value, good, fair = -value, -good, -fair
    if value <= good:
        return _Grade.GOOD
    return _Grade.FAIR if value <= fair else _Grade.POOR


def _grades(figures: Figures) -> dict[str, _Grade]:
    """Each measured figure's grade (unmeasured ones are left out)."""
    found: dict[str, _Grade] = {}
    if figures.rtt_ms is not None:
        found["rtt_ms"] = _grade(figures.rtt_ms, RTT_GOOD_MAX_MS, RTT_FAIR_MAX_MS)
    if figures.jitter_ms is not None:
        found["jitter_ms"] = _grade(figures.jitter_ms, JITTER_GOOD_MAX_MS, JITTER_FAIR_MAX_MS)
    if figures.loss_pct is not None:
        found["loss_pct"] = _grade(figures.loss_pct, LOSS_GOOD_MAX_PCT, LOSS_FAIR_MAX_PCT)
    if figures.bitrate_kbps is not None:
        found["bitrate_kbps"] = _grade(
            figures.bitrate_kbps,
            BITRATE_GOOD_MIN_KBPS,
            BITRATE_FAIR_MIN_KBPS,
            higher_is_better=True,
        )
    return found


def assess(figures: Figures) -> Assessment:
    """The worst figure decides; the advice names each problem and what to try."""
    if not figures.measured:
        return Assessment(verdict=Verdict.POOR, advice=_UNREACHABLE)
    grades = _grades(figures)
    worst = max(grades.values())
    weak = [name for name, grade in grades.items() if grade is not _Grade.GOOD]
    sentences = [_LEAD[worst]]
    sentences += [_PROBLEM[name] for name in weak]
    for name in weak:
        sentences += [fix for fix in _FIXES[name] if fix not in sentences]
    if worst is _Grade.POOR:
        sentences.append(_LAST_RESORT)
    return Assessment(verdict=Verdict[worst.name], advice=" ".join(sentences))


def check_figures(figures: Figures) -> Figures:
    """``figures`` if each is within ``LIMITS`` or null (else 400); their types are the
    request's (``tlh.api.media.ConnTestResult``)."""
    for name, (low, high) in LIMITS.items():
        value = getattr(figures, name)
        if value is None:
            continue
        if not math.isfinite(value):
            raise BadRequest(f"{name} must be a number or null")
        if not low <= value <= high:
            raise BadRequest(f"{name} must be between {low:.0f} and {high:.0f}")
    return figures
