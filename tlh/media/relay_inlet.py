"""The publisher's side of the relay: each RTP packet read once and written to every subscriber.

An ``Inlet`` takes the publisher connection's decrypted RTP packets as they arrive
(``aiortc_rtp.take_rtp``, installed once the connection is up) and does per packet what
the publisher needs from a receiver, and nothing more:

- which stream a packet belongs to: aiortc's own routing, asked once per new SSRC;
  a packet of another transceiver (an extra track) or in another codec is dropped;
- RTX: a retransmission is unwrapped to the packet it repeats, so it fills the gap
  downstream too;
- Receiver Reports: the figures aiortc's receiver reports (loss, jitter) are kept per
  SSRC in the receiver's own table, so its RTCP task goes on reporting them;
- NACKs for lost video packets, as aiortc's receiver sends them, and REMB
  (``BitrateFeedback``), so a browser publisher keeps its bitrate up;

then writes it to each subscriber's ``Outgoing`` of that kind.

Why one long method: on this 2-core machine, shared with other work, a packet arrives
every 6 ms or so to a process whose caches others have since used; a packet's cost is
then mostly the code and objects it touches (measured: 4 us per packet in a loop, 60 us
one packet at a time), so the path touches few functions and makes few objects.
"""

from __future__ import annotations

import struct
import time
from collections import deque
from collections.abc import Coroutine
from functools import partial
from typing import Any, Protocol

from aiortc import RTCPeerConnection, RTCRtpReceiver, RTCRtpTransceiver
from aiortc.rate import RemoteBitrateEstimator
from aiortc.rtcdtlstransport import RTCDtlsTransport

from . import aiortc_rtp
from .forwarding import (
    KeyframeGate,
    LossTracker,
    Outgoing,
    header_extension,
    vp8_keyframe_start,
)

#: SSRCs remembered per publisher connection (a stream or two per kind in practice).
MAX_ROUTES = 64
#: Frames the bitrate estimator is fed at once (see ``BitrateFeedback``), in ms.
ESTIMATE_EVERY_MS = 250

_HEADER = struct.Struct("!BBHII")


class Fanout(Protocol):
    """The relay, as its inlet sees it."""

    #: The subscribers' streams being forwarded to, by kind.
    outgoing: dict[str, list[Outgoing]]
    #: Frames received, by kind (video: counted by their last packet).
    frames_in: dict[str, int]
    #: Packets in a codec the relay does not forward.
    frames_dropped: int
    #: Keyframe requests waiting for the rate limit (``pending``).
    keyframes: KeyframeGate

    def restarted(self, kind: str) -> None:
        """The publisher's stream of ``kind`` changed SSRC: numbering starts again."""

    def missed_keyframe(self) -> None:
        """A subscriber waits for a keyframe the packet just forwarded did not start."""

    def send_due_keyframe_request(self) -> None:
        """Send a waiting keyframe request, if the rate limit allows."""

    def own(self, coro: Coroutine[Any, Any, Any]) -> None:
        """Run ``coro`` as a task of the relay's."""


class WindowRate:
    """aiortc's ``RateCounter`` (the bytes received in the last ``window_size`` ms, as a
    bitrate) kept as a queue of arrivals instead of one bucket per millisecond.

    aiortc's counter steps through every millisecond since its last call, bucket by
    bucket (33 steps per frame at 30 fps): after batching, that stepping was two thirds
    of the bitrate estimator's CPU. Same answers (tests/media/test_relay_inlet.py feeds
    both the same arrivals), a step per arrival instead.
    """

    def __init__(self, window_size: int = 1000, scale: int = 8000) -> None:
        self._window_size = window_size
        self._scale = scale
        self.reset()

    def reset(self) -> None:
        """Forget everything (aiortc's estimator calls it after a silence)."""
        self._arrivals: deque[tuple[int, int]] = deque()
        self._origin_ms: int | None = None
        self._count = 0
        self._value = 0

    def add(self, value: int, now_ms: int) -> None:
        """``value`` (bytes) arrived at ``now_ms``."""
        if self._origin_ms is None:
            self._origin_ms = now_ms
        else:
            self._erase_old(now_ms)
        self._arrivals.append((now_ms, value))
        self._count += 1
        self._value += value

    def rate(self, now_ms: int) -> int | None:
        """The bitrate over the window ending at ``now_ms`` (None: too little to say)."""
        if self._origin_ms is None:
            return None
        self._erase_old(now_ms)
        active_window_size = now_ms - self._origin_ms + 1
        if self._count > 0 and active_window_size > 1:
            return round(self._scale * self._value / active_window_size)
        return None

    def _erase_old(self, now_ms: int) -> None:
        assert self._origin_ms is not None
        new_origin_ms = now_ms - self._window_size + 1
        if self._origin_ms >= new_origin_ms:
            return
        arrivals = self._arrivals
        while arrivals and arrivals[0][0] < new_origin_ms:
            _, value = arrivals.popleft()
            self._count -= 1
            self._value -= value
        self._origin_ms = new_origin_ms


class BitrateFeedback:
    """aiortc's receive-side bandwidth estimator, fed per frame and in batches.

    aiortc's receiver feeds it every video packet; its code is long and its rate
    counter steps through each millisecond, which cost a tenth of the relay's CPU. Here
    it gets each frame once (its size, its last packet's abs-send-time and arrival: the
    inter-frame deltas its delay-based detector works on), recorded as frames arrive and
    handed over every ``ESTIMATE_EVERY_MS``: the same inputs, in one warm pass, a REMB at
    most that much later than aiortc would send it; and its rate counter is a
    ``WindowRate``.
    """

    def __init__(self) -> None:
        self.estimator = RemoteBitrateEstimator()
        self.estimator.incoming_bitrate = WindowRate(1000, 8000)  # type: ignore[assignment]
        self.frames: list[tuple[int, int, int]] = []

    def frame(
        self, abs_send_time: int, arrival_ms: int, size: int, ssrc: int
    ) -> tuple[int, list[int]] | None:
        """Note one frame; the (bitrate, SSRCs) to send in a REMB when one is due."""
        frames = self.frames
        frames.append((abs_send_time, arrival_ms, size))
        if arrival_ms - frames[0][1] < ESTIMATE_EVERY_MS:
            return None
        remb = None
        for sent, arrived, octets in frames:
            result = self.estimator.add(
                abs_send_time=sent, arrival_time_ms=arrived, payload_size=octets, ssrc=ssrc
            )
            remb = result or remb
        frames.clear()
        return remb


class Source:
    """One forwarded kind at the publisher: its receiver, codec and current stream."""

    def __init__(self, transceiver: RTCRtpTransceiver, mime_type: str) -> None:
        self.kind = transceiver.kind
        self.video = self.kind == "video"
        self.receiver: RTCRtpReceiver = transceiver.receiver
        codecs = aiortc_rtp.negotiated_codecs(transceiver)
        wanted = next((c for c in codecs if c.mimeType.lower() == mime_type.lower()), None)
        self.payload_type = wanted.payloadType if wanted else None
        self.clock_rate = wanted.clockRate if wanted else 90_000
        self.rtx_payload_type = (
            aiortc_rtp.rtx_payload_type(codecs, wanted.payloadType) if wanted else None
        )
        self.abs_send_time = aiortc_rtp.extension_id(transceiver, aiortc_rtp.ABS_SEND_TIME_URI)
        #: The SSRC of the stream being forwarded (None: none yet).
        self.ssrc: int | None = None
        self.loss = LossTracker()
        self.feedback = BitrateFeedback()
        #: Payload bytes of the video frame arriving (for the bitrate estimator).
        self.frame_bytes = 0


class Route:
    """What one SSRC of the publisher carries: a forwarded kind, and its figures."""

    __slots__ = ("source", "stats")

    def __init__(self, source: Source, stats: aiortc_rtp.ReceptionStatistics) -> None:
        self.source = source
        self.stats = stats


class Inlet:
    """One publisher connection's packets, read and written to the relay's subscribers."""

    def __init__(
        self,
        pc: RTCPeerConnection,
        forwarded: list[RTCRtpTransceiver],
        codecs: dict[str, str],
        fanout: Fanout,
    ) -> None:
        self.pc = pc
        self._forwarded = forwarded
        self._codecs = codecs
        self._fanout = fanout
        self._outgoing = fanout.outgoing
        self._frames = fanout.frames_in
        self._keyframes = fanout.keyframes
        self._sources: dict[RTCRtpReceiver, Source] = {}
        self._routes: dict[int, Route] = {}
        self._ignored: set[int] = set()
        self._taken = False

    def start(self) -> None:
        """Take the connection's RTP (call once it is connected; again is harmless)."""
        if self._taken:
            return
        self._taken = True
        transports = {id(t.receiver.transport): t.receiver.transport for t in self._forwarded}
        for dtls in transports.values():  # one with BUNDLE, as browsers and aiortc offer
            aiortc_rtp.small_reads(dtls)
            aiortc_rtp.take_rtp(dtls, partial(self.received, dtls))

    @property
    def video(self) -> Source | None:
        """The video being forwarded, once a packet of it arrived."""
        return next((s for s in self._sources.values() if s.video and s.ssrc is not None), None)

    def request_keyframe(self) -> bool:
        """Send a PLI for the video being forwarded; False when none arrived yet."""
        source = self.video
        if source is None or source.ssrc is None:
            return False
        self._fanout.own(aiortc_rtp.send_pli(source.receiver, source.ssrc))
        return True

    def received(self, dtls: RTCDtlsTransport, data: bytes) -> None:
        """One decrypted RTP packet from the publisher on ``dtls`` (runs on the event loop)."""
        size = len(data)
        if size < 12:
            return
        first, second, seq, ts, ssrc = _HEADER.unpack_from(data)
        offset = 12 + 4 * (first & 0x0F)  # after the CSRCs
        if first & 0x10:  # after the header extensions
            if size < offset + 4:
                return
            offset += 4 + 4 * ((data[offset + 2] << 8) | data[offset + 3])
        end = size - data[-1] if first & 0x20 else size  # before the padding
        if end < offset:
            return
        route = self._routes.get(ssrc)
        if route is None:
            route = self._learn(dtls, ssrc, data)
            if route is None:
                return
        source = route.source
        route.stats.note(seq, ts)
        payload_type = second & 0x7F
        if payload_type == source.rtx_payload_type:
            if end - offset < 2:
                return  # padding only (bandwidth probing)
            seq = (data[offset] << 8) | data[offset + 1]
            offset += 2
        elif payload_type != source.payload_type:
            self._fanout.frames_dropped += 1
            return
        elif ssrc != source.ssrc:
            if source.ssrc is not None:
                self._fanout.restarted(source.kind)
                source.loss = LossTracker()
            source.ssrc = ssrc
        if source.video:
            if source.loss.add(seq):
                lost = sorted(source.loss.missing)
                self._fanout.own(aiortc_rtp.send_nack(source.receiver, ssrc, lost))
            start = (
                end - offset > 1
                and data[offset] & 0x17 == 0x10
                and vp8_keyframe_start(data, offset, end)
            )
            source.frame_bytes += end - offset
            if second & 0x80 and payload_type == source.payload_type:  # a frame's last
                self._frames["video"] += 1
                if source.abs_send_time:
                    self._estimate(source, data, ssrc)
                source.frame_bytes = 0
        else:
            start = True
            self._frames["audio"] += 1
        streams = self._outgoing[source.kind]
        if streams:
            ntp = int((time.time() + aiortc_rtp.NTP_UNIX) * 4294967296.0)
            missed = False
            for outgoing in streams:
                if not outgoing.forward(data, seq, ts, offset, start, ntp):
                    missed = True
            if missed:
                self._fanout.missed_keyframe()
        if source.video and self._keyframes.pending:
            self._fanout.send_due_keyframe_request()

    def _estimate(self, source: Source, data: bytes, ssrc: int) -> None:
        """Note a frame ending with ``data`` for the bitrate estimator; send a REMB if due."""
        value = header_extension(data, source.abs_send_time)
        if value is None or len(value) != 3:
            return
        remb = source.feedback.frame(
            int.from_bytes(value, "big"), int(time.time() * 1000), source.frame_bytes, ssrc
        )
        if remb is not None:
            self._fanout.own(aiortc_rtp.send_remb(source.receiver, *remb))

    def _learn(self, dtls: RTCDtlsTransport, ssrc: int, data: bytes) -> Route | None:
        """Ask aiortc which receiver ``ssrc`` is for (None: not yet registered, or not
        one the relay forwards)."""
        if ssrc in self._ignored:
            return None
        receiver = aiortc_rtp.route(dtls, data)
        if receiver is None:
            return None  # not registered yet: ask again next time
        source = self._source(receiver)
        if source is None:
            if len(self._ignored) < MAX_ROUTES:
                self._ignored.add(ssrc)
            return None
        route = Route(source, aiortc_rtp.reception_statistics(receiver, ssrc, source.clock_rate))
        if len(self._routes) < MAX_ROUTES:
            self._routes[ssrc] = route
        return route

    def _source(self, receiver: RTCRtpReceiver) -> Source | None:
        if receiver not in self._sources:
            transceiver = next((t for t in self._forwarded if t.receiver is receiver), None)
            if transceiver is None:
                return None  # another track of the publisher's: not forwarded
            self._sources[receiver] = Source(transceiver, self._codecs[transceiver.kind])
        return self._sources[receiver]
