"""The server's media relay: one publisher's audio and video to N subscribers, never decoded.

A relay that decodes and re-encodes spent 83 % of a core on 1 publisher -> 8
subscribers here; handing on the re-assembled encoded frames and forwarding keyframe
requests spent 5.6 %. So:

- the publisher's receivers are tapped (``aiortc_private.tap_encoded_frames``): each
  re-assembled VP8 frame or Opus packet becomes one ``av.Packet``, shared by every
  subscriber's track; aiortc's sender sends a packet through its encoder's ``pack()``
  (no encode);
- one codec end to end: VP8 (+RTX) and Opus are the only codecs either side is offered,
  so what arrives can be sent as it is;
- a subscriber's video starts on a keyframe: until one passes, its frames are skipped and
  a keyframe is asked of the publisher (a PLI), as it is when a subscriber sends PLI/FIR
  or falls behind. PLIs upstream are rate-limited to one per ``keyframe_interval``;
- every remote track is drained; a peer whose connection fails is closed, and
  ``close()`` closes them all.

A relay owns the peer connections it is given. Attach a publisher or add a subscriber
before its offer/answer exchange: both add their transceivers (with the codec choice) to
the connection, and the publisher's receivers must be tapped before they connect.
"""

from __future__ import annotations

import asyncio
import contextlib
import fractions
import logging
import time
from collections.abc import Coroutine
from typing import Any

import av
from aiortc import RTCPeerConnection, RTCRtpReceiver, RTCRtpSender, RTCRtpTransceiver
from aiortc.jitterbuffer import JitterFrame
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from aiortc.rtcrtpparameters import RTCRtpCodecCapability, RTCRtpCodecParameters

from . import aiortc_private

logger = logging.getLogger(__name__)

KINDS = ("audio", "video")
#: The one codec per kind the relay forwards (mime types as aiortc spells them).
CODECS = {"audio": "audio/opus", "video": "video/VP8"}
#: Frames a subscriber may fall behind before it is cut back to the next keyframe
#: (video: ~1/3 s at 30 fps) or loses its oldest packet (audio: 1 s of 20 ms packets).
QUEUE_FRAMES = {"audio": 50, "video": 10}


def codec_preferences(kind: str) -> list[RTCRtpCodecCapability]:
    """The relay's codec (and RTX for video) among aiortc's capabilities for ``kind``."""
    wanted = {CODECS[kind].lower(), f"{kind}/rtx"}
    return [
        codec
        for codec in RTCRtpSender.getCapabilities(kind).codecs
        if codec.mimeType.lower() in wanted
    ]


def is_vp8_keyframe(data: bytes) -> bool:
    """A VP8 frame is a keyframe when bit 0 of its frame tag is 0 (RFC 6386 9.1)."""
    return bool(data) and data[0] & 0x01 == 0


class KeyframeGate:
    """At most one keyframe request per ``interval`` s; a request in between waits."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self.pending = False
        self._last: float | None = None

    def want(self) -> None:
        """Someone needs a keyframe."""
        self.pending = True

    def due(self, now: float) -> bool:
        """Whether to send a request now (and note it as sent)."""
        if not self.pending or (self._last is not None and now - self._last < self.interval):
            return False
        self.pending = False
        self._last = now
        return True


class ForwardedTrack(MediaStreamTrack):
    """A subscriber's outgoing track: the publisher's encoded frames, as ``av.Packet``.

    It takes frames only once its sender reads (so a connecting subscriber builds up no
    backlog), and video only from a keyframe on: the frames it refuses meanwhile make the
    relay ask the publisher for one.
    """

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind
        self.needs_keyframe = kind == "video"
        self.reading = False
        self._queue: asyncio.Queue[av.Packet[Any] | None] = asyncio.Queue()

    def push(self, packet: av.Packet[Any], keyframe: bool) -> bool:
        """Queue ``packet``; False when this track is waiting for a keyframe."""
        if not self.reading or self.readyState != "live":
            return True
        if self.needs_keyframe and not keyframe:
            return False
        if self._queue.qsize() >= QUEUE_FRAMES[self.kind]:
            if self.kind == "audio":
                self._queue.get_nowait()
            else:  # behind: what is queued is stale, and the next delta frame undecodable
                self._drain_queue()
                if not keyframe:
                    self.needs_keyframe = True
                    return False
        self.needs_keyframe = False
        self._queue.put_nowait(packet)
        return True

    async def recv(self) -> av.Packet[Any]:
        """The next packet to send (aiortc's sender packs it without encoding)."""
        if self.readyState != "live":
            raise MediaStreamError
        self.reading = True
        packet = await self._queue.get()
        if packet is None:
            raise MediaStreamError
        return packet

    def stop(self) -> None:
        """End the track and wake a waiting ``recv``."""
        super().stop()
        self._drain_queue()
        self._queue.put_nowait(None)

    def _drain_queue(self) -> None:
        while not self._queue.empty():
            self._queue.get_nowait()


class Relay:
    """Forwards one publisher's encoded audio and video to every subscriber."""

    def __init__(self, *, keyframe_interval: float = 0.5) -> None:
        self.publisher: RTCPeerConnection | None = None
        self.subscribers: dict[RTCPeerConnection, list[ForwardedTrack]] = {}
        #: Encoded frames received from the publisher, by kind.
        self.frames_in = dict.fromkeys(KINDS, 0)
        #: Frames in a codec other than the relay's (never forwarded).
        self.frames_dropped = 0
        #: PLIs sent to the publisher, and keyframe requests heard from subscribers.
        self.keyframes_requested = 0
        self.keyframe_requests_heard = 0
        self._gate = KeyframeGate(keyframe_interval)
        self._video_receiver: RTCRtpReceiver | None = None
        self._time_bases: dict[int, fractions.Fraction] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closed = False

    # -- peers ------------------------------------------------------------------

    async def attach_publisher(self, pc: RTCPeerConnection) -> None:
        """Receive audio and video from ``pc`` (replacing, and closing, any publisher)."""
        old, self.publisher = self.publisher, pc
        if old is not None:
            await aiortc_private.close_peer(old)
        for kind in KINDS:
            transceiver = pc.addTransceiver(kind, direction="recvonly")
            transceiver.setCodecPreferences(codec_preferences(kind))
            self._tap(transceiver, forward=True)
        self._video_receiver = next(t.receiver for t in pc.getTransceivers() if t.kind == "video")
        for tracks in self.subscribers.values():
            for track in tracks:
                track.needs_keyframe = track.kind == "video"
        self._gate.want()
        self._watch(pc)

    def add_subscriber(self, pc: RTCPeerConnection) -> None:
        """Send the publisher's audio and video to ``pc``."""
        tracks = []
        for kind in KINDS:
            track = ForwardedTrack(kind)
            transceiver = pc.addTransceiver(track, direction="sendonly")
            transceiver.setCodecPreferences(codec_preferences(kind))
            aiortc_private.on_keyframe_request(transceiver.sender, self._heard_keyframe_request)
            tracks.append(track)
        self.subscribers[pc] = tracks
        self._watch(pc)

    async def remove_subscriber(self, pc: RTCPeerConnection) -> None:
        """Stop forwarding to ``pc`` and close it."""
        for track in self.subscribers.pop(pc, []):
            track.stop()
        await aiortc_private.close_peer(pc)

    async def close(self) -> None:
        """Close every peer and wait for the relay's own tasks (idempotent)."""
        self._closed = True
        for pc in list(self.subscribers):
            await self.remove_subscriber(pc)
        if self.publisher is not None:
            await aiortc_private.close_peer(self.publisher)
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=2.0)

    # -- keyframes --------------------------------------------------------------

    def want_keyframe(self) -> None:
        """Ask the publisher for a keyframe now, or as soon as the rate limit allows."""
        self._gate.want()
        self._send_due_keyframe_request()

    def _heard_keyframe_request(self) -> None:
        self.keyframe_requests_heard += 1
        self.want_keyframe()

    def _send_due_keyframe_request(self) -> None:
        receiver = self._video_receiver
        if receiver is None or self._closed or not self._gate.due(time.monotonic()):
            return
        self.keyframes_requested += 1
        self._own(aiortc_private.request_keyframe(receiver))

    # -- media ------------------------------------------------------------------

    def _tap(self, transceiver: RTCRtpTransceiver, *, forward: bool) -> None:
        """Take the receiver's frames from its decoder: forwarded, or (a subscriber's own
        media, which this relay does not carry) dropped."""
        kind = transceiver.kind

        def sink(codec: RTCRtpCodecParameters, frame: JitterFrame) -> None:
            if forward:
                self._forward(kind, codec, frame)

        aiortc_private.tap_encoded_frames(transceiver.receiver, sink)

    def _forward(self, kind: str, codec: RTCRtpCodecParameters, frame: JitterFrame) -> None:
        """Runs once per frame on the event loop, inside aiortc's packet handling."""
        if codec.mimeType.lower() != CODECS[kind].lower():
            self.frames_dropped += 1
            return
        self.frames_in[kind] += 1
        packet = av.Packet(frame.data)
        packet.pts = frame.timestamp
        packet.time_base = self._time_base(codec.clockRate)
        keyframe = kind == "audio" or is_vp8_keyframe(frame.data)
        missed = False
        for tracks in self.subscribers.values():
            for track in tracks:
                if track.kind == kind and not track.push(packet, keyframe):
                    missed = True
        if missed:
            self._gate.want()
        if kind == "video":
            self._send_due_keyframe_request()

    def _time_base(self, clock_rate: int) -> fractions.Fraction:
        if clock_rate not in self._time_bases:
            self._time_bases[clock_rate] = fractions.Fraction(1, clock_rate)
        return self._time_bases[clock_rate]

    def _watch(self, pc: RTCPeerConnection) -> None:
        """Tap and drain every remote track of ``pc``; close ``pc`` if its connection fails.

        Only the publisher's first audio and video are forwarded; anything else arriving
        (a subscriber's own media, an extra publisher track) is dropped undecoded.
        """

        def track_added(track: MediaStreamTrack) -> None:
            for transceiver in pc.getTransceivers():
                if transceiver.receiver.track is track:
                    self._tap(transceiver, forward=False)
            self._own(_drain(track))

        def state_changed() -> None:
            if pc.connectionState == "failed":
                self._own(self._drop(pc))

        pc.on("track", track_added)
        pc.on("connectionstatechange", state_changed)

    async def _drop(self, pc: RTCPeerConnection) -> None:
        if pc in self.subscribers:
            await self.remove_subscriber(pc)
            return
        if pc is self.publisher:
            self.publisher, self._video_receiver = None, None
        await aiortc_private.close_peer(pc)

    def _own(self, coro: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.warning("relay task failed: %s", type(task.exception()).__name__)


async def _drain(track: MediaStreamTrack) -> None:
    """Read a remote track to its end (a tapped one only ever ends)."""
    with contextlib.suppress(MediaStreamError):
        while True:
            await track.recv()
