"""``tlh doctor``'s echo round trip: send a tone and a moving picture to the server's echo
peer and time how long until both come back.

The probe is an ordinary aiortc peer with the synthetic tracks; the answer comes from
whatever ``offer`` does with the SDP (the doctor POSTs it with the staff token). Every
track is read, the peer is closed whatever happens, and the wait is bounded.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from .aiortc_private import close_peer
from .ice import configuration, gathering
from .synthetic import BarTrack, ToneTrack

#: Frames of each kind that must come back for the round trip to count.
FRAMES_BACK = 5


@dataclass(frozen=True)
class EchoResult:
    """How the round trip went (``None``: that kind never came back)."""

    video_ms: float | None
    audio_ms: float | None


async def echo_round_trip(
    offer: Callable[[str], Awaitable[str]], *, loopback: bool, within: float
) -> EchoResult:
    """Offer to the echo peer, wait (at most ``within`` s) for video and audio back."""
    pc = RTCPeerConnection(configuration())
    tracks = [ToneTrack(), BarTrack(width=160, height=96, fps=30)]
    for track in tracks:
        pc.addTrack(track)
    back: dict[str, int] = {"audio": 0, "video": 0}
    first: dict[str, float] = {}
    done = asyncio.Event()
    readers: list[asyncio.Task[None]] = []
    start = time.monotonic()

    async def read(track: MediaStreamTrack) -> None:
        with contextlib.suppress(MediaStreamError):
            while True:
                await track.recv()
                back[track.kind] += 1
                if back[track.kind] == FRAMES_BACK:
                    first[track.kind] = (time.monotonic() - start) * 1000
                    if len(first) == 2:
                        done.set()

    pc.on("track", lambda t: readers.append(asyncio.get_running_loop().create_task(read(t))))
    try:
        local = await pc.createOffer()
        await gathering(loopback, lambda: pc.setLocalDescription(local))
        answer = await offer(str(pc.localDescription.sdp))
        await pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(done.wait(), within)
    finally:
        for track in tracks:
            track.stop()
        await close_peer(pc)
        for reader in readers:
            reader.cancel()
        await asyncio.gather(*readers, return_exceptions=True)
    return EchoResult(first.get("video"), first.get("audio"))
