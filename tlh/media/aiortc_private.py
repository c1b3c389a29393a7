"""aiortc's private parts tlh uses at the level of receivers, senders and connections
(aiortc 1.16.0); those of the packet path below them are in ``aiortc_rtp``.

The relay forwards encoded media without decoding it, which aiortc's public API cannot
do: a receiver always hands its re-assembled frames to a decoder thread, and a sender
answers a keyframe request by flagging its own encoder. The parts used, all read from
aiortc 1.16.0 (pinned in pyproject.toml; tests/media/test_aiortc_private.py checks each
one, so an upgrade that changes them fails a test instead of decoding silently):

- ``RTCRtpReceiver.__decoder_queue`` (``_RTCRtpReceiver__decoder_queue``): the
  ``queue.Queue`` that ``_handle_rtp_packet`` fills with ``(codec, JitterFrame)`` and
  ``__stop_decoder`` ends with ``None``; ``receive()`` hands it to the decoder thread.
- ``RTCRtpReceiver.__started`` and ``__decoder_thread``: whether ``receive()`` ran, and
  the thread it started.
- ``aiortc.rtcrtpreceiver.get_decoder``: looked up by name in ``decoder_worker`` each
  time a thread meets a new codec (watched by tests to prove nothing decodes).
- ``RTCRtpReceiver._send_rtcp_pli(media_ssrc)``: sends a Picture Loss Indication.
- ``RTCRtpSender._send_keyframe()``: called by ``_handle_rtcp_packet`` for PLI and FIR.
- ``RTCPeerConnection.__connect``: the task ``setRemoteDescription`` starts and never
  awaits; it may start receivers after ``close()``.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import aiortc.rtcrtpreceiver as _receiver_module
from aiortc import RTCPeerConnection, RTCRtpReceiver, RTCRtpSender
from aiortc.codecs.base import Decoder
from aiortc.jitterbuffer import JitterFrame
from aiortc.rtcrtpparameters import RTCRtpCodecParameters

#: The aiortc release these parts were read from.
AIORTC_VERSION = "1.16.0"

_DECODER_QUEUE = "_RTCRtpReceiver__decoder_queue"
_DECODER_THREAD = "_RTCRtpReceiver__decoder_thread"
_RECEIVER_STARTED = "_RTCRtpReceiver__started"
_CONNECT = "__connect"
_GET_DECODER = "get_decoder"

#: Called on the event loop with each re-assembled encoded frame and its codec.
FrameSink = Callable[[RTCRtpCodecParameters, JitterFrame], None]
DecoderTask = tuple[RTCRtpCodecParameters, JitterFrame] | None


class EncodedFrameTap(queue.Queue[DecoderTask]):
    """Stands in for a receiver's decoder queue: frames go to ``sink``, never to a decoder.

    The decoder thread still starts (``receive()`` always starts it) but only ever reads
    the ``None`` that stops it, so it never creates a decoder.
    """

    def __init__(self, sink: FrameSink) -> None:
        super().__init__()
        self.sink = sink
        self.frames = 0

    def put(self, item: DecoderTask, block: bool = True, timeout: float | None = None) -> None:
        """A frame goes to the sink; ``None`` (stop) goes to the waiting thread."""
        if item is None:
            super().put(None, block, timeout)
            return
        self.frames += 1
        codec, frame = item
        self.sink(codec, frame)


def tap_encoded_frames(receiver: RTCRtpReceiver, sink: FrameSink) -> EncodedFrameTap:
    """Send ``receiver``'s encoded frames to ``sink`` instead of its decoder.

    Must run before ``receive()`` (aiortc calls it once the connection is up; the
    ``track`` event comes earlier): the thread is given the queue when it starts.
    Tapping twice keeps the first tap.
    """
    current = getattr(receiver, _DECODER_QUEUE)
    if isinstance(current, EncodedFrameTap):
        return current
    if getattr(receiver, _RECEIVER_STARTED):
        raise RuntimeError("the receiver already started decoding; tap it before it connects")
    tap = EncodedFrameTap(sink)
    setattr(receiver, _DECODER_QUEUE, tap)
    return tap


def decoder_thread(receiver: RTCRtpReceiver) -> threading.Thread | None:
    """The decoder thread ``receive()`` started for ``receiver`` (None before, or after stop)."""
    thread = getattr(receiver, _DECODER_THREAD)
    return thread if isinstance(thread, threading.Thread) else None


@contextmanager
def watch_decoders() -> Iterator[set[threading.Thread]]:
    """Within this block, collect every thread that creates an aiortc decoder (tests)."""
    original: Callable[[RTCRtpCodecParameters], Decoder] = getattr(_receiver_module, _GET_DECODER)
    creators: set[threading.Thread] = set()

    def counting(codec: RTCRtpCodecParameters) -> Decoder:
        creators.add(threading.current_thread())
        return original(codec)

    setattr(_receiver_module, _GET_DECODER, counting)
    try:
        yield creators
    finally:
        setattr(_receiver_module, _GET_DECODER, original)


async def request_keyframe(receiver: RTCRtpReceiver) -> int:
    """Send a PLI for each source ``receiver`` heard from lately; how many were sent."""
    sources = receiver.getSynchronizationSources()
    for source in sources:
        await receiver._send_rtcp_pli(source.source)
    return len(sources)


def on_keyframe_request(sender: RTCRtpSender, callback: Callable[[], None]) -> None:
    """Call ``callback`` whenever the remote side asks ``sender`` for a keyframe (PLI/FIR).

    aiortc's own handling (flag the encoder) still runs first.
    """
    original = sender._send_keyframe

    def asked() -> None:
        original()
        callback()

    sender._send_keyframe = asked  # type: ignore[method-assign]


def connect_tasks(pc: RTCPeerConnection) -> list[asyncio.Task[Any]]:
    """aiortc's running ``__connect`` tasks for ``pc``, their outcome read and dropped.

    Closing mid-connect makes such a task fail ("RTCIceTransport is closed"), which
    asyncio would report as never retrieved; closing mid-connect is normal here.
    """
    found = []
    for task in asyncio.all_tasks():
        coro = task.get_coro()
        frame = getattr(coro, "cr_frame", None)
        name = getattr(coro, "__qualname__", "")
        if frame is not None and name.endswith(_CONNECT) and frame.f_locals.get("self") is pc:
            task.add_done_callback(_drop_outcome)
            found.append(task)
    return found


async def close_peer(pc: RTCPeerConnection, within: float = 2.0) -> None:
    """Close ``pc`` and stop any receiver its connect task started after the close.

    ``__connect`` checks for a closed connection only on entry, so a receiver (and its
    decoder thread) can start after ``close()`` stopped the others.
    """
    connecting = connect_tasks(pc)
    await pc.close()
    if not connecting:
        return
    _, pending = await asyncio.wait(connecting, timeout=within)
    if pending:
        # Still connecting after ``within`` (a loaded machine): it must not start a
        # receiver later, when nobody is left to stop it.
        for task in pending:
            task.cancel()
        await asyncio.wait(pending, timeout=within)
    for transceiver in pc.getTransceivers():
        if decoder_thread(transceiver.receiver) is not None:
            await transceiver.receiver.stop()


def _drop_outcome(task: asyncio.Task[Any]) -> None:
    if not task.cancelled():
        task.exception()
