"""Synthetic media for headless participants: a tone and a moving bar.

Pure Python (no numpy): the tone's 50 frames per second are computed once and
repeat seamlessly (440 Hz fits a whole number of cycles in one second); each video
frame is a grey picture with a white bar that moves, so an encoder sees motion.
Each peer connection gets its own tracks: one track shared by two senders would hand
each of them only part of the frames.
"""

from __future__ import annotations

import asyncio
import fractions
import functools
import math
import time

from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from av import AudioFrame, VideoFrame

AUDIO_RATE = 48_000
AUDIO_PTIME = 0.020
AUDIO_SAMPLES = int(AUDIO_RATE * AUDIO_PTIME)  # 960 per 20 ms frame
VIDEO_CLOCK = 90_000
VIDEO_TIME_BASE = fractions.Fraction(1, VIDEO_CLOCK)


@functools.cache
def _tone_frames(hz: int = 440, level: float = 0.2) -> tuple[bytes, ...]:
    """One second of a sine tone, as 20 ms chunks of 16-bit little-endian samples."""
    peak = int(32767 * level)
    samples = bytearray()
    for n in range(AUDIO_RATE):
        samples += int(peak * math.sin(2 * math.pi * hz * n / AUDIO_RATE)).to_bytes(
            2, "little", signed=True
        )
    size = AUDIO_SAMPLES * 2
    return tuple(bytes(samples[i : i + size]) for i in range(0, len(samples), size))


class _Paced:
    """Real-time pacing shared by both tracks: frame ``n`` is due at start + n * ptime."""

    def __init__(self, ptime: float) -> None:
        self.ptime = ptime
        self.count = 0
        self._start: float | None = None

    async def next(self) -> int:
        if self._start is None:
            self._start = time.monotonic()
        else:
            due = self._start + self.count * self.ptime
            await asyncio.sleep(max(0.0, due - time.monotonic()))
        n = self.count
        self.count += 1
        return n


class ToneTrack(MediaStreamTrack):
    """An audio track playing a 440 Hz tone (48 kHz mono, 20 ms frames)."""

    kind = "audio"

    def __init__(self) -> None:
        super().__init__()
        self._pace = _Paced(AUDIO_PTIME)
        self._frames = _tone_frames()

    @property
    def frames_sent(self) -> int:
        """Frames handed to the encoder so far."""
        return self._pace.count

    async def recv(self) -> AudioFrame:
        """The next 20 ms of tone, paced in real time."""
        if self.readyState != "live":
            raise MediaStreamError
        n = await self._pace.next()
        frame = AudioFrame(format="s16", layout="mono", samples=AUDIO_SAMPLES)
        frame.planes[0].update(self._frames[n % len(self._frames)])
        frame.pts = n * AUDIO_SAMPLES
        frame.sample_rate = AUDIO_RATE
        frame.time_base = fractions.Fraction(1, AUDIO_RATE)
        return frame


class BarTrack(MediaStreamTrack):
    """A video track: a white vertical bar sweeping across a grey picture."""

    kind = "video"

    def __init__(self, width: int = 320, height: int = 240, fps: int = 15) -> None:
        super().__init__()
        self.width, self.height = width - width % 2, height - height % 2
        self._pace = _Paced(1 / fps)
        self._step = max(2, self.width // (2 * fps))  # one sweep every two seconds

    @property
    def frames_sent(self) -> int:
        """Frames handed to the encoder so far."""
        return self._pace.count

    async def recv(self) -> VideoFrame:
        """The next picture, paced in real time."""
        if self.readyState != "live":
            raise MediaStreamError
        n = await self._pace.next()
        frame = VideoFrame(width=self.width, height=self.height, format="yuv420p")
        bar = self.width // 10
        x = (n * self._step) % (self.width - bar)
        luma, chroma = frame.planes[0], frame.planes[1:]
        row = b"\x50" * x + b"\xeb" * bar + b"\x50" * (self.width - x - bar)
        luma.update((row + bytes(luma.line_size - self.width)) * self.height)
        for plane in chroma:
            plane.update(b"\x80" * (plane.line_size * (self.height // 2)))
        frame.pts = int(n * VIDEO_CLOCK * self._pace.ptime)
        frame.time_base = VIDEO_TIME_BASE
        return frame
