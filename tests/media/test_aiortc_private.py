"""Each private aiortc part the relay relies on, tested on its own (tlh.media.aiortc_private).

These fail when an aiortc upgrade renames or reshapes one of them, instead of the relay
quietly decoding again, losing keyframe requests, or leaking decoder threads.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable

import aiortc
import aiortc.rtcrtpreceiver
import pytest
from aiortc import RTCPeerConnection, RTCRtpReceiver
from aiortc.jitterbuffer import JitterFrame
from aiortc.rtcrtpparameters import RTCRtpCodecParameters

from tlh.media import aiortc_private
from tlh.media.ice import configuration
from tlh.media.synthetic import BarTrack

from .support import negotiate


async def until(condition: Callable[[], bool], changed: asyncio.Event, within: float) -> None:
    """Wait for ``condition``, re-checking whenever ``changed`` is set."""
    async with asyncio.timeout(within):
        while not condition():
            changed.clear()
            await changed.wait()


class Pair:
    """A sender of a small moving bar and a receiver of it (video only)."""

    def __init__(self) -> None:
        self.sending = RTCPeerConnection(configuration())
        self.receiving = RTCPeerConnection(configuration())
        self.track = BarTrack(width=96, height=64, fps=30)
        self.sender = self.sending.addTrack(self.track)
        self.transceiver = self.receiving.addTransceiver("video", direction="recvonly")
        self.receiver: RTCRtpReceiver = self.transceiver.receiver
        self.changed = asyncio.Event()

    async def close(self) -> None:
        self.track.stop()
        for pc in (self.sending, self.receiving):
            await aiortc_private.close_peer(pc)


@pytest.fixture
async def pair() -> AsyncIterator[Pair]:
    made = Pair()
    try:
        yield made
    finally:
        await made.close()


def test_the_pinned_version_is_the_one_installed() -> None:
    assert aiortc.__version__ == aiortc_private.AIORTC_VERSION


async def test_a_tapped_receiver_hands_on_encoded_frames_and_decodes_none(pair: Pair) -> None:
    frames: list[tuple[RTCRtpCodecParameters, JitterFrame]] = []

    def sink(codec: RTCRtpCodecParameters, frame: JitterFrame) -> None:
        frames.append((codec, frame))
        pair.changed.set()

    tap = aiortc_private.tap_encoded_frames(pair.receiver, sink)
    assert aiortc_private.tap_encoded_frames(pair.receiver, sink) is tap  # tapping twice
    with aiortc_private.watch_decoders() as decoding:
        await negotiate(pair.sending, pair.receiving)
        await until(lambda: len(frames) >= 5, pair.changed, 10)
        thread = aiortc_private.decoder_thread(pair.receiver)
        assert thread is not None
        assert thread.is_alive()
        assert thread not in decoding
    codec, first = frames[0]
    assert codec.mimeType == "video/VP8"
    assert first.data[0] & 0x01 == 0  # the stream starts on a VP8 keyframe
    assert tap.frames == len(frames)
    assert pair.receiver.track is not None
    assert pair.receiver.track.readyState == "live"


async def test_a_receiver_cannot_be_tapped_once_it_decodes(pair: Pair) -> None:
    decoded = 0

    async def drain() -> None:
        nonlocal decoded
        while True:
            await pair.receiver.track.recv()
            decoded += 1
            pair.changed.set()

    with aiortc_private.watch_decoders() as decoding:
        await negotiate(pair.sending, pair.receiving)
        reader = asyncio.create_task(drain())
        try:
            await until(lambda: decoded >= 2, pair.changed, 10)
        finally:
            reader.cancel()
        thread = aiortc_private.decoder_thread(pair.receiver)
        assert thread in decoding  # the watch sees an ordinary receiver decode
    with pytest.raises(RuntimeError, match="already started"):
        aiortc_private.tap_encoded_frames(pair.receiver, lambda codec, frame: None)
    assert aiortc.rtcrtpreceiver.get_decoder is aiortc.codecs.get_decoder  # restored


async def test_decoder_thread_is_known_only_while_the_receiver_runs(pair: Pair) -> None:
    aiortc_private.tap_encoded_frames(pair.receiver, lambda codec, frame: pair.changed.set())
    assert aiortc_private.decoder_thread(pair.receiver) is None
    await negotiate(pair.sending, pair.receiving)
    await until(lambda: aiortc_private.decoder_thread(pair.receiver) is not None, pair.changed, 10)
    thread = aiortc_private.decoder_thread(pair.receiver)
    await aiortc_private.close_peer(pair.receiving)
    assert aiortc_private.decoder_thread(pair.receiver) is None
    assert thread is not None
    assert not thread.is_alive()


async def test_a_keyframe_request_reaches_the_sender(pair: Pair) -> None:
    asked = 0

    def heard() -> None:
        nonlocal asked
        asked += 1
        pair.changed.set()

    aiortc_private.on_keyframe_request(pair.sender, heard)
    aiortc_private.tap_encoded_frames(pair.receiver, lambda codec, frame: pair.changed.set())
    assert await aiortc_private.request_keyframe(pair.receiver) == 0  # nothing heard yet
    await negotiate(pair.sending, pair.receiving)
    await until(lambda: bool(pair.receiver.getSynchronizationSources()), pair.changed, 10)
    assert await aiortc_private.request_keyframe(pair.receiver) == 1
    await until(lambda: asked >= 1, pair.changed, 5)


async def test_closing_mid_connect_leaves_no_task_or_thread(pair: Pair) -> None:
    before = {t for t in threading.enumerate() if t.name.endswith("-decoder")}
    await negotiate(pair.sending, pair.receiving)
    assert aiortc_private.connect_tasks(pair.receiving)  # aiortc's un-awaited __connect
    await aiortc_private.close_peer(pair.receiving)
    await aiortc_private.close_peer(pair.sending)
    assert pair.receiving.connectionState == "closed"
    assert not aiortc_private.connect_tasks(pair.receiving)
    left = {t for t in threading.enumerate() if t.name.endswith("-decoder")} - before
    assert not {t for t in left if t.is_alive()}
