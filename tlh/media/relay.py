"""The server's media relay: one publisher's audio and video to N subscribers, never decoded.

A relay that decodes and re-encodes spent 83 % of a core on 1 publisher -> 8
subscribers here. One that handed aiortc's re-assembled frames to each subscriber's
sender spent 5-6 % at 1 subscriber, most of it aiortc's per-packet machinery around a
payload it never looked at. So the relay forwards packets:

- the publisher's decrypted RTP packets are taken as they arrive (``relay_inlet``: its
  receivers' reports, NACKs and REMB go on as aiortc's would) and each is written to
  every subscriber's wire at once, with that subscriber's payload type, SSRC, sequence
  numbers and timestamps (``forwarding.Outgoing``): no jitter buffer, no sender task,
  no queue, no object per packet but the bytes sent;
- one codec end to end: VP8 (+RTX) and Opus are the only codecs either side is offered,
  so what arrives can be sent as it is;
- a subscriber's video starts on a keyframe: until one passes, its packets are skipped
  and a keyframe is asked of the publisher (a PLI), as it is when a subscriber sends
  PLI/FIR. PLIs upstream are rate-limited to one per ``keyframe_interval``; a
  subscriber's NACK is answered from the packets last sent to it;
- aiortc keeps the connections, ICE, DTLS, the RTCP it sends and receives, and each
  subscriber's sender (its Sender Reports carry the forwarded packets' figures);
- every remote track is drained; a peer whose connection fails is closed, and
  ``close()`` closes them all.

A relay owns the peer connections it is given. Attach a publisher or add a subscriber
before its offer/answer exchange: both add their transceivers (with the codec choice) to
the connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Coroutine
from typing import Any

from aiortc import RTCPeerConnection, RTCRtpSender, RTCRtpTransceiver
from aiortc.jitterbuffer import JitterFrame
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from aiortc.rtcrtpparameters import RTCRtpCodecCapability, RTCRtpCodecParameters

from . import aiortc_private, aiortc_rtp
from .forwarding import KeyframeGate, Outgoing
from .relay_inlet import Inlet

logger = logging.getLogger(__name__)

KINDS = ("audio", "video")
#: The one codec per kind the relay forwards (mime types as aiortc spells them).
CODECS = {"audio": "audio/opus", "video": "video/VP8"}


def codec_preferences(kind: str) -> list[RTCRtpCodecCapability]:
    """The relay's codec (and RTX for video) among aiortc's capabilities for ``kind``."""
    wanted = {CODECS[kind].lower(), f"{kind}/rtx"}
    return [
        codec
        for codec in RTCRtpSender.getCapabilities(kind).codecs
        if codec.mimeType.lower() in wanted
    ]


class SenderTrack(MediaStreamTrack):
    """A subscriber's outgoing track, as aiortc sees it: it never yields a frame (the
    relay writes the packets itself); its sender's first read says the sender started."""

    def __init__(self, kind: str, started: Callable[[], None]) -> None:
        super().__init__()
        self.kind = kind
        self._started: Callable[[], None] | None = started
        self._ended = asyncio.get_running_loop().create_future()

    async def recv(self) -> Any:
        """Note the sender started, then wait for the end of the track."""
        if self._started is not None:
            started, self._started = self._started, None
            started()
        if self.readyState == "live":
            await asyncio.shield(self._ended)
        raise MediaStreamError

    def stop(self) -> None:
        """End the track and wake its sender."""
        super().stop()
        self._started = None
        if not self._ended.done():
            self._ended.set_result(None)


class Subscription:
    """One subscriber's stream of one kind: its track, sender and ``Outgoing``."""

    def __init__(self, relay: Relay, pc: RTCPeerConnection, kind: str) -> None:
        self.kind = kind
        self.track = SenderTrack(kind, self._started)
        self.transceiver: RTCRtpTransceiver = pc.addTransceiver(self.track, direction="sendonly")
        self.transceiver.setCodecPreferences(codec_preferences(kind))
        sender = self.transceiver.sender
        self.outgoing = Outgoing(kind, aiortc_rtp.RtpOutlet(sender))
        self._relay = relay
        aiortc_private.on_keyframe_request(sender, relay.heard_keyframe_request)
        aiortc_rtp.on_retransmit_request(sender, self.outgoing.retransmit)

    def _started(self) -> None:
        """The sender runs with negotiated parameters: forward to it from now on."""
        codecs = aiortc_rtp.negotiated_codecs(self.transceiver)
        payload_type = codecs[0].payloadType if codecs else None
        if payload_type is None or codecs[0].mimeType.lower() != CODECS[self.kind].lower():
            logger.warning("relay subscriber negotiated no %s", CODECS[self.kind])
            return
        ssrc, rtx_ssrc = aiortc_rtp.sender_ssrcs(self.transceiver.sender)
        mid_id = aiortc_rtp.extension_id(self.transceiver, aiortc_rtp.MID_URI)
        mid = self.transceiver.mid
        aiortc_rtp.small_reads(self.transceiver.sender.transport)  # its RTCP
        self.outgoing.configure(
            payload_type,
            ssrc,
            aiortc_rtp.rtx_payload_type(codecs, payload_type),
            rtx_ssrc,
            (mid_id, mid) if mid_id and mid else None,
        )
        self._relay.start_forwarding(self)


class Relay:
    """Forwards one publisher's audio and video packets to every subscriber."""

    def __init__(self, *, keyframe_interval: float = 0.5) -> None:
        self.publisher: RTCPeerConnection | None = None
        self.subscribers: dict[RTCPeerConnection, list[Subscription]] = {}
        #: Frames received from the publisher, by kind (video: counted by last packet).
        self.frames_in = dict.fromkeys(KINDS, 0)
        #: Packets in a codec other than the relay's (never forwarded).
        self.frames_dropped = 0
        #: PLIs sent to the publisher, and keyframe requests heard from subscribers.
        self.keyframes_requested = 0
        self.keyframe_requests_heard = 0
        #: Keyframe requests to the publisher: at most one per ``keyframe_interval``.
        self.keyframes = KeyframeGate(keyframe_interval)
        self._inlet: Inlet | None = None
        #: The streams being forwarded to, by kind (subscribers whose senders started).
        self.outgoing: dict[str, list[Outgoing]] = {kind: [] for kind in KINDS}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closed = False

    # -- peers ------------------------------------------------------------------

    async def attach_publisher(self, pc: RTCPeerConnection) -> None:
        """Receive audio and video from ``pc`` (replacing, and closing, any publisher)."""
        old, self.publisher = self.publisher, pc
        if old is not None:
            await aiortc_private.close_peer(old)
        forwarded = []
        for kind in KINDS:
            transceiver = pc.addTransceiver(kind, direction="recvonly")
            transceiver.setCodecPreferences(codec_preferences(kind))
            self._tap(transceiver)
            forwarded.append(transceiver)
        inlet = self._inlet = Inlet(pc, forwarded, CODECS, self)
        for streams in self.outgoing.values():
            for outgoing in streams:
                outgoing.restart()
        self.keyframes.want()
        self._watch(pc)

        def connected() -> None:
            if pc.connectionState == "connected" and self._inlet is inlet:
                inlet.start()

        pc.on("connectionstatechange", connected)

    def add_subscriber(self, pc: RTCPeerConnection) -> None:
        """Send the publisher's audio and video to ``pc``."""
        self.subscribers[pc] = [Subscription(self, pc, kind) for kind in KINDS]
        self._watch(pc)

    async def remove_subscriber(self, pc: RTCPeerConnection) -> None:
        """Stop forwarding to ``pc`` and close it."""
        for subscription in self.subscribers.pop(pc, []):
            streams = self.outgoing[subscription.kind]
            if subscription.outgoing in streams:
                streams.remove(subscription.outgoing)
            subscription.track.stop()
        await aiortc_private.close_peer(pc)

    async def close(self) -> None:
        """Close every peer and wait for the relay's own tasks (idempotent)."""
        self._closed = True
        for pc in list(self.subscribers):
            await self.remove_subscriber(pc)
        if self.publisher is not None:
            await aiortc_private.close_peer(self.publisher)
        self._inlet = None
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=2.0)

    def start_forwarding(self, subscription: Subscription) -> None:
        """``subscription``'s sender started: it gets the publisher's packets from now."""
        if any(subscription in subs for subs in self.subscribers.values()):
            self.outgoing[subscription.kind].append(subscription.outgoing)

    # -- keyframes --------------------------------------------------------------

    def want_keyframe(self) -> None:
        """Ask the publisher for a keyframe now, or as soon as the rate limit allows."""
        self.keyframes.want()
        self.send_due_keyframe_request()

    def heard_keyframe_request(self) -> None:
        """A subscriber asked for a keyframe (PLI or FIR)."""
        self.keyframe_requests_heard += 1
        self.want_keyframe()

    def missed_keyframe(self) -> None:
        """A subscriber waits for a keyframe: ask for one when the rate limit allows."""
        self.keyframes.want()

    def send_due_keyframe_request(self) -> None:
        """Send the waiting keyframe request, if any and if the rate limit allows."""
        inlet = self._inlet
        if inlet is None or self._closed or inlet.video is None:
            return
        if self.keyframes.due(time.monotonic()) and inlet.request_keyframe():
            self.keyframes_requested += 1

    # -- media (the inlet's Fanout) ----------------------------------------------

    def restarted(self, kind: str) -> None:
        """The publisher's ``kind`` changed SSRC: every subscriber starts it again."""
        for outgoing in self.outgoing[kind]:
            outgoing.restart()

    def own(self, coro: Coroutine[Any, Any, Any]) -> None:
        """Run ``coro`` as the relay's task (awaited or cancelled by ``close``)."""
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._finished)

    # -- peers' own media ----------------------------------------------------------

    def _tap(self, transceiver: RTCRtpTransceiver) -> None:
        """Frames aiortc re-assembles itself (before the inlet starts, or of a track the
        relay does not carry) go nowhere: nothing is decoded."""

        def sink(codec: RTCRtpCodecParameters, frame: JitterFrame) -> None:
            pass

        aiortc_private.tap_encoded_frames(transceiver.receiver, sink)

    def _watch(self, pc: RTCPeerConnection) -> None:
        """Tap and drain every remote track of ``pc``; close ``pc`` if its connection fails.

        Only the publisher's first audio and video are forwarded; anything else arriving
        (a subscriber's own media, an extra publisher track) is dropped undecoded.
        """

        def track_added(track: MediaStreamTrack) -> None:
            for transceiver in pc.getTransceivers():
                if transceiver.receiver.track is track:
                    self._tap(transceiver)
            self.own(_drain(track))

        def state_changed() -> None:
            if pc.connectionState == "failed":
                self.own(self._drop(pc))

        pc.on("track", track_added)
        pc.on("connectionstatechange", state_changed)

    async def _drop(self, pc: RTCPeerConnection) -> None:
        if pc in self.subscribers:
            await self.remove_subscriber(pc)
            return
        if pc is self.publisher:
            self.publisher, self._inlet = None, None
        await aiortc_private.close_peer(pc)

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.warning("relay task failed: %s", type(task.exception()).__name__)


async def _drain(track: MediaStreamTrack) -> None:
    """Read a remote track to its end (a tapped one only ever ends)."""
    with contextlib.suppress(MediaStreamError):
        while True:
            await track.recv()
