"""One call leg of a headless participant: a peer connection to one remote peer.

It sends its own synthetic tracks, reads every remote track to the end (an unread
video track grows memory ~13 MB/s), counts the frames decoded per kind, and turns
the wire's ``signal`` data (browser-shaped descriptions and candidates) into aiortc
calls. The owner sends what it hands to ``send`` and is told of every change.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from aiortc.sdp import candidate_from_sdp

from .aiortc_private import close_peer
from .ice import gathering
from .synthetic import BarTrack, ToneTrack

Send = Callable[[dict[str, Any]], Awaitable[None]]
#: Rewrites a description's SDP to or from one peer (peer id, SDP): tests block paths.
SdpFilter = Callable[[str, str], str]


async def add_candidate(pc: RTCPeerConnection, data: dict[str, Any] | None) -> None:
    """Add a browser-shaped trickled candidate (``None`` or empty: the end of them)."""
    text = (data or {}).get("candidate")
    if not text:
        await pc.addIceCandidate(None)
        return
    assert data is not None
    try:
        parsed = candidate_from_sdp(str(text).removeprefix("candidate:"))
    except (ValueError, IndexError):
        return  # a candidate this stack cannot parse is skipped, as browsers do
    parsed.sdpMid = data.get("sdpMid")
    parsed.sdpMLineIndex = data.get("sdpMLineIndex")
    if parsed.sdpMid is None and parsed.sdpMLineIndex is None:
        parsed.sdpMLineIndex = 0
    await pc.addIceCandidate(parsed)


class PeerLink:
    """The connection to ``peer_id``; ``frames_received`` counts decoded frames by kind."""

    def __init__(
        self,
        peer_id: str,
        *,
        config: RTCConfiguration,
        loopback: bool,
        send: Send,
        changed: Callable[[], None],
        audio: bool = True,
        video: bool = True,
        label: str = "",
        kind: str = "",
        video_size: tuple[int, int] = (320, 240),
        sdp_filter: SdpFilter | None = None,
    ) -> None:
        self.peer_id, self.label, self.kind = peer_id, label, kind
        self._filter = sdp_filter
        self.pc = RTCPeerConnection(configuration=config)
        self._loopback = loopback
        self._send = send
        self._changed = changed
        self.tracks_out: list[ToneTrack | BarTrack] = []
        if audio:
            self.tracks_out.append(ToneTrack())
        if video:
            self.tracks_out.append(BarTrack(*video_size))
        for track in self.tracks_out:
            self.pc.addTrack(track)
        self.frames_received: dict[str, int] = {}
        self.connected_at: float | None = None
        self._readers: set[asyncio.Task[None]] = set()
        self._pending: list[dict[str, Any] | None] = []
        #: The one closing run; a second ``close()`` waits for it instead of returning early.
        self._closing: asyncio.Task[None] | None = None
        self.pc.on("track", self._on_track)
        self.pc.on("connectionstatechange", self._on_state)

    @property
    def state(self) -> str:
        """The peer connection's ``connectionState``."""
        return str(self.pc.connectionState)

    @property
    def frames_sent(self) -> int:
        """Synthetic frames handed to the encoders (audio + video)."""
        return sum(track.frames_sent for track in self.tracks_out)

    # -- signalling -----------------------------------------------------------

    async def offer(self) -> None:
        """Make and send an offer (the newcomer offers to every peer already there)."""
        offer = await self.pc.createOffer()
        await gathering(self._loopback, lambda: self.pc.setLocalDescription(offer))
        await self._send_description()

    async def description(self, data: dict[str, Any]) -> None:
        """Apply a remote offer (and answer it) or a remote answer."""
        kind, sdp = data.get("type"), data.get("sdp")
        if kind not in ("offer", "answer") or not isinstance(sdp, str):
            return
        if self._filter is not None:
            sdp = self._filter(self.peer_id, sdp)
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type=kind))
        for candidate in self._pending:
            await self._add(candidate)
        self._pending.clear()
        if kind == "offer":
            answer = await self.pc.createAnswer()
            await gathering(self._loopback, lambda: self.pc.setLocalDescription(answer))
            await self._send_description()

    async def candidate(self, data: dict[str, Any] | None) -> None:
        """A trickled remote candidate (browsers trickle; aiortc puts its own in the SDP)."""
        if self.pc.remoteDescription is None:
            self._pending.append(data)
        else:
            await self._add(data)

    async def _add(self, data: dict[str, Any] | None) -> None:
        await add_candidate(self.pc, data)

    async def _send_description(self) -> None:
        local = self.pc.localDescription
        sdp = local.sdp if self._filter is None else self._filter(self.peer_id, local.sdp)
        await self._send(
            {
                "type": "signal",
                "to": self.peer_id,
                "data": {"description": {"type": local.type, "sdp": sdp}},
            }
        )

    # -- media ----------------------------------------------------------------

    def _on_track(self, track: MediaStreamTrack) -> None:
        task = asyncio.get_running_loop().create_task(self._drain(track))
        self._readers.add(task)
        task.add_done_callback(self._readers.discard)

    async def _drain(self, track: MediaStreamTrack) -> None:
        """Read every frame of a remote track until it ends, counting them."""
        kind = track.kind
        self.frames_received.setdefault(kind, 0)
        with contextlib.suppress(MediaStreamError):
            while True:
                await track.recv()
                self.frames_received[kind] += 1
                self._changed()

    def _on_state(self) -> None:
        if self.pc.connectionState == "connected" and self.connected_at is None:
            self.connected_at = time.monotonic()
        self._changed()

    async def close(self) -> None:
        """Stop the tracks and readers and close the connection (idempotent: every caller
        returns once it is closed, and a caller cancelled meanwhile does not stop it)."""
        if self._closing is None:
            self._closing = asyncio.get_running_loop().create_task(self._close())
        await asyncio.shield(self._closing)

    async def _close(self) -> None:
        for track in self.tracks_out:
            track.stop()
        # aiortc's connect task may start a receiver after close(): close_peer stops it.
        await close_peer(self.pc)
        for task in list(self._readers):
            task.cancel()
        if self._readers:
            await asyncio.wait(self._readers, timeout=2.0)
        self._changed()
