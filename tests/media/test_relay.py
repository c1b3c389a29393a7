"""The pass-through relay with real aiortc peers on loopback (tlh.media.relay).

The publisher sends a tone and a moving bar; subscribers are ordinary aiortc peers that
decode what they get. The relay must forward both kinds, decode nothing itself, carry
keyframe requests to the publisher, and leave nothing running when closed.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable

import av
import pytest
from aiortc import RTCPeerConnection, RTCRtpReceiver, RTCRtpSender
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from av import VideoFrame

from tlh.media import aiortc_private
from tlh.media.ice import configuration
from tlh.media.relay import QUEUE_FRAMES, ForwardedTrack, KeyframeGate, Relay, is_vp8_keyframe
from tlh.media.synthetic import BarTrack, ToneTrack

from .support import negotiate

WIDTH, HEIGHT = 160, 120


class Publisher:
    """An aiortc peer sending a tone and a bar; counts the keyframe requests it hears."""

    def __init__(self, changed: asyncio.Event) -> None:
        self.pc = RTCPeerConnection(configuration())
        self.tracks = [ToneTrack(), BarTrack(width=WIDTH, height=HEIGHT, fps=30)]
        self.senders = [self.pc.addTrack(track) for track in self.tracks]
        self.keyframe_requests = 0
        self._changed = changed
        aiortc_private.on_keyframe_request(self.video_sender, self._heard)

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
        self.pc.on("track", self._read)

    @property
    def video_receiver(self) -> RTCRtpReceiver:
        return next(t.receiver for t in self.pc.getTransceivers() if t.kind == "video")

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

    def __init__(self) -> None:
        self.changed = asyncio.Event()
        self.relay = Relay(keyframe_interval=0.2)
        self.publisher = Publisher(self.changed)
        self.subscribers: list[Subscriber] = []
        self.relay_peers: list[RTCPeerConnection] = []

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
        await self.publisher.close()
        for subscriber in self.subscribers:
            await subscriber.close()


@pytest.fixture
async def call() -> AsyncIterator[Call]:
    made = Call()
    try:
        yield made
    finally:
        await made.close()


async def test_one_to_one_forwards_both_kinds_without_decoding(call: Call) -> None:
    with aiortc_private.watch_decoders() as decoding:
        await call.publish()
        subscriber = await call.subscribe()
        await call.frames_everywhere(10, [subscriber])
        relay_threads = call.relay_decoder_threads()
        subscriber_thread = aiortc_private.decoder_thread(subscriber.video_receiver)
    assert relay_threads  # the relay's receivers did start (their threads only wait)
    assert not relay_threads & decoding  # ...and none of them created a decoder
    assert subscriber_thread in decoding  # while the subscriber decodes what it gets
    assert subscriber.sizes == {(WIDTH, HEIGHT)}
    assert call.relay.frames_in["video"] >= 10
    assert call.relay.frames_in["audio"] >= 10
    assert call.relay.frames_dropped == 0


async def test_one_to_three_reaches_every_subscriber_and_a_late_one_gets_a_keyframe(
    call: Call,
) -> None:
    with aiortc_private.watch_decoders() as decoding:
        await call.publish()
        early = [await call.subscribe(), await call.subscribe(subscriber_offers=True)]
        await call.frames_everywhere(5, early)
        # aiortc's encoder seldom makes a keyframe unasked (its first frame, a large
        # bitrate change): the late subscriber, whose video starts on a keyframe, decodes
        # promptly because the relay asks the publisher for one on its behalf.
        late = await call.subscribe()
        await call.until(lambda: late.frames["video"] >= 5, "the late subscriber's video", 2)
        await call.frames_everywhere(5, [*early, late])
        relay_threads = call.relay_decoder_threads()
    assert call.publisher.keyframe_requests >= 1
    assert not relay_threads & decoding
    assert all(s.sizes == {(WIDTH, HEIGHT)} for s in [*early, late])


async def test_a_subscribers_keyframe_request_reaches_the_publisher(call: Call) -> None:
    await call.publish()
    subscriber = await call.subscribe()
    await call.frames_everywhere(3, [subscriber])
    asked_before = call.publisher.keyframe_requests
    assert await aiortc_private.request_keyframe(subscriber.video_receiver) == 1
    await call.until(
        lambda: call.publisher.keyframe_requests > asked_before, "the PLI at the publisher"
    )
    assert call.relay.keyframe_requests_heard >= 1


async def test_closing_the_relay_closes_its_peers_and_stops_its_threads(call: Call) -> None:
    await call.publish()
    subscriber = await call.subscribe()
    await call.frames_everywhere(3, [subscriber])
    threads = call.relay_decoder_threads()
    await call.relay.close()
    assert all(pc.connectionState == "closed" for pc in call.relay_peers)
    assert not any(t.is_alive() for t in threads if hasattr(t, "is_alive"))
    assert call.relay.subscribers == {}


def test_keyframe_requests_are_rate_limited() -> None:
    gate = KeyframeGate(0.5)
    assert not gate.due(0.0)  # nobody asked
    gate.want()
    assert gate.due(0.0)
    gate.want()
    assert not gate.due(0.3)  # too soon: kept pending
    assert gate.due(0.6)
    assert not gate.due(5.0)  # sent; nobody asked again


def test_vp8_keyframes_are_told_from_the_frame_tag() -> None:
    assert is_vp8_keyframe(b"\x10\x02\x00\x9d\x01\x2a")  # bit 0 clear: key frame
    assert not is_vp8_keyframe(b"\x31\x02\x00")
    assert not is_vp8_keyframe(b"")


async def test_a_forwarded_video_track_starts_on_a_keyframe_and_cuts_back_to_one() -> None:
    track = ForwardedTrack("video")
    key, delta = av.Packet(b"\x10key"), av.Packet(b"\x31delta")
    try:
        assert track.push(delta, keyframe=False)  # nobody reads yet: dropped, no request
        reader = asyncio.create_task(track.recv())
        await asyncio.sleep(0)  # let the sender start reading (no timing involved)
        assert not track.push(delta, keyframe=False)  # waits for a keyframe
        assert track.push(key, keyframe=True)
        assert bytes(await reader) == b"\x10key"
        for _ in range(QUEUE_FRAMES["video"]):
            assert track.push(delta, keyframe=False)
        assert not track.push(delta, keyframe=False)  # fell behind: stale frames dropped
        assert not track.push(delta, keyframe=False)
        assert track.push(key, keyframe=True)
        assert bytes(await track.recv()) == b"\x10key"
    finally:
        track.stop()
    with pytest.raises(MediaStreamError):
        await track.recv()
