"""The connection test and the echo peer: offers, answers and the test's result."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from tlh.domain.conntest import Figures
from tlh.domain.rooms import ConnectionTest

#: The random id a page keeps per browser.
DeviceId = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]


class EchoOffer(msgspec.Struct, frozen=True, kw_only=True):
    """``POST /api/v1/media/echo``: a staff member's WebRTC offer (``tlh doctor``)."""

    sdp: str


class ConnTestOffer(msgspec.Struct, frozen=True, kw_only=True):
    """``POST /api/v1/link/conntest/offer``: the page's offer with its candidates."""

    device_id: DeviceId
    sdp: str


class EchoAnswer(msgspec.Struct, frozen=True, kw_only=True):
    """The echo peer's answer; it lives at most ``max_s`` seconds."""

    type: Literal["answer"] = "answer"
    sdp: str
    max_s: float


class ConnTestResult(msgspec.Struct, frozen=True, kw_only=True):
    """``POST /api/v1/link/conntest/result``: what the page measured (``null``: could not)."""

    device_id: DeviceId
    rtt_ms: float | None = None
    jitter_ms: float | None = None
    loss_pct: float | None = None
    bitrate_kbps: float | None = None

    def figures(self) -> Figures:
        """What was measured (``tlh.domain.conntest.check_figures`` checks the ranges)."""
        return Figures(
            rtt_ms=self.rtt_ms,
            jitter_ms=self.jitter_ms,
            loss_pct=self.loss_pct,
            bitrate_kbps=self.bitrate_kbps,
        )


class ConnTestVerdict(msgspec.Struct, frozen=True, kw_only=True):
    """The verdict with plain advice; ``on_entry``: it reached the page's room entry."""

    test: ConnectionTest
    advice: str
    on_entry: bool


class SelfCallStart(msgspec.Struct, frozen=True, kw_only=True):
    """``POST /api/v1/admin/doctor/call``: ``tlh doctor``'s self-call segment and its
    one-time guest link (never shown)."""

    session_id: str
    link_id: str
    url: str
