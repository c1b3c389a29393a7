"""The relay's test peers: an aiortc publisher and subscribers around a ``Relay``."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

from aiortc import RTCPeerConnection, RTCRtpReceiver, RTCRtpSender
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from aiortc.rtp import AnyRtcpPacket
from av import VideoFrame

from tlh.media import aiortc_private
from tlh.media.ice import configuration
from tlh.media.relay import Relay
from tlh.media.synthetic import BarTrack, ToneTrack

from .support import negotiate

WIDTH, HEIGHT = 160, 120


class SteppedTrack(MediaStreamTrack):
    """A moving bar, one frame each time ``step()`` is called."""

    kind = "video"

    def __init__(self) -> None:
        super().__init__()
        self._bar = BarTrack(width=WIDTH, height=HEIGHT, fps=1000)
        self._steps: asyncio.Queue[None] = asyncio.Queue()

    def step(self) -> None:
        """Let the next frame go."""
        self._steps.put_nowait(None)

    async def recv(self) -> VideoFrame:
        await self._steps.get()
        return await self._bar.recv()

    def stop(self) -> None:
        super().stop()
        self._bar.stop()


class Publisher:
    """An aiortc peer sending a tone and a bar; counts the keyframe requests it hears and
    keeps the RTCP its video sender gets."""

    def __init__(self, changed: asyncio.Event, video: MediaStreamTrack | None = None) -> None:
        self.pc = RTCPeerConnection(configuration())
        self.tracks = [ToneTrack(), video or BarTrack(width=WIDTH, height=HEIGHT, fps=30)]
        self.senders = [self.pc.addTrack(track) for track in self.tracks]
        self.keyframe_requests = 0
        self.rtcp: list[AnyRtcpPacket] = []
        self.retransmissions = 0
        self._changed = changed
        aiortc_private.on_keyframe_request(self.video_sender, self._heard)
        self._watch_video_sender()

    def _watch_video_sender(self) -> None:
        sender = self.video_sender
        handle, retransmit = sender._handle_rtcp_packet, sender._retransmit

        async def handled(packet: AnyRtcpPacket) -> None:
            self.rtcp.append(packet)
            self._changed.set()
            await handle(packet)

        async def retransmitted(seq: int) -> None:
            self.retransmissions += 1
            self._changed.set()
            await retransmit(seq)

        sender._handle_rtcp_packet = handled  # type: ignore[method-assign]
        sender._retransmit = retransmitted  # type: ignore[method-assign]

    @property
    def video_sender(self) -> RTCRtpSender:
        return self.senders[1]

    def _heard(self) -> None:
        self.keyframe_requests += 1
        self._changed.set()

    async def close(self) -> None:
        for track in self.tracks:
            track.stop()
        await aiortc_private.close_peer(self.pc)


class Subscriber:
    """An ordinary aiortc peer: it decodes every frame it gets, counted by kind."""

    def __init__(self, changed: asyncio.Event) -> None:
        self.pc = RTCPeerConnection(configuration())
        self.frames = {"audio": 0, "video": 0}
        self.sizes: set[tuple[int, int]] = set()
        self._changed = changed
        self._readers: list[asyncio.Task[None]] = []
        self.rtcp: list[AnyRtcpPacket] = []
        self.pc.on("track", self._read)
        self.pc.on("connectionstatechange", changed.set)

    @property
    def video_receiver(self) -> RTCRtpReceiver:
        return next(t.receiver for t in self.pc.getTransceivers() if t.kind == "video")

    def keep_video_rtcp(self) -> None:
        """Keep the RTCP the video receiver gets (Sender Reports) in ``rtcp``."""
        receiver = self.video_receiver
        handle = receiver._handle_rtcp_packet

        async def handled(packet: AnyRtcpPacket) -> None:
            self.rtcp.append(packet)
            self._changed.set()
            await handle(packet)

        receiver._handle_rtcp_packet = handled  # type: ignore[method-assign]

    def _read(self, track: MediaStreamTrack) -> None:
        self._readers.append(asyncio.create_task(self._drain(track)))

    async def _drain(self, track: MediaStreamTrack) -> None:
        with contextlib.suppress(MediaStreamError):
            while True:
                frame = await track.recv()
                if isinstance(frame, VideoFrame):
                    self.sizes.add((frame.width, frame.height))
                self.frames[track.kind] += 1
                self._changed.set()

    async def close(self) -> None:
        await aiortc_private.close_peer(self.pc)
        for reader in self._readers:
            reader.cancel()
        await asyncio.gather(*self._readers, return_exceptions=True)


class Call:
    """One publisher, a relay, and the subscribers added so far."""

    def __init__(self, video: MediaStreamTrack | None = None) -> None:
        self.changed = asyncio.Event()
        self.relay = Relay(keyframe_interval=0.2)
        self.publisher = Publisher(self.changed, video)
        self.replaced: list[Publisher] = []
        self.subscribers: list[Subscriber] = []
        self.relay_peers: list[RTCPeerConnection] = []

    async def replace_publisher(self) -> None:
        """A new publisher takes the place of the first (a page that reconnected)."""
        self.replaced.append(self.publisher)
        self.publisher = Publisher(self.changed)
        await self.publish()

    async def publish(self) -> None:
        """The publisher offers to the relay (as a browser would)."""
        pc = RTCPeerConnection(configuration())
        self.relay_peers.append(pc)
        await self.relay.attach_publisher(pc)
        await negotiate(self.publisher.pc, pc)

    async def subscribe(self, *, subscriber_offers: bool = False) -> Subscriber:
        subscriber = Subscriber(self.changed)
        self.subscribers.append(subscriber)
        pc = RTCPeerConnection(configuration())
        self.relay_peers.append(pc)
        self.relay.add_subscriber(pc)
        if subscriber_offers:
            for kind in ("audio", "video"):
                subscriber.pc.addTransceiver(kind, direction="recvonly")
            await negotiate(subscriber.pc, pc)
        else:
            await negotiate(pc, subscriber.pc)
        return subscriber

    async def until(self, condition: Callable[[], bool], what: str, within: float = 4) -> None:
        try:
            async with asyncio.timeout(within):
                while not condition():
                    self.changed.clear()
                    await self.changed.wait()
        except TimeoutError:
            raise AssertionError(f"timed out waiting for {what}") from None

    async def frames_everywhere(self, frames: int, subscribers: list[Subscriber]) -> None:
        await self.until(
            lambda: all(min(s.frames.values()) >= frames for s in subscribers),
            f"{frames} audio and video frames at every subscriber",
        )

    def relay_decoder_threads(self) -> set[object]:
        return {
            aiortc_private.decoder_thread(t.receiver)
            for pc in self.relay_peers
            for t in pc.getTransceivers()
        } - {None}

    async def close(self) -> None:
        await self.relay.close()
        for publisher in [*self.replaced, self.publisher]:
            await publisher.close()
        for subscriber in self.subscribers:
            await subscriber.close()
