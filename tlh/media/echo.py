"""The server's echo peer: the far end of a client's "Test my connection".

The page offers a WebRTC connection with its camera and microphone; the echo peer
answers and sends every received track straight back, so the page can measure the round
trip, jitter, loss and bitrate with its own ``getStats()``. aiortc decodes and re-encodes
the looped media (measured here: ~19 % of a core for a 640x480, 30 fps synthetic video
with audio), which is fine for 10-20 s but not unbounded: the number of echo peers at
once is bounded (beyond that the page hears "busy, try again") and each one lives at
most ``lifetime_s``. Every peer is closed, with its decoder threads, when its time is
up, when its connection fails, when its owner ends it, and on shutdown.

aiortc and PyAV cost far more to import than the rest of the server (~0.5 s), and the CLI
and dashboard never need them: this module imports them only when a peer is made. The
server imports them in a thread once it is up (``tlh.server.app``), so that first peer
does not hold the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tlh.errors import BadRequest, Unavailable
from tlh.net import is_loopback

if TYPE_CHECKING:
    from aiortc import RTCPeerConnection
    from aiortc.mediastreams import MediaStreamTrack

#: Tests running at once (each re-encodes a video and an audio stream).
DEFAULT_LIMIT = 4
#: Seconds an echo peer may live: the page measures for ~8 s after connecting.
DEFAULT_LIFETIME_S = 30.0
_ENDED_STATES = frozenset({"failed", "closed"})


class EchoBusy(Unavailable):
    code = "echo_busy"


class BadOffer(BadRequest):
    code = "bad_offer"


@dataclass(eq=False)
class _Echo:
    owner: str
    pc: RTCPeerConnection
    ended: asyncio.Event = field(default_factory=asyncio.Event)
    watcher: asyncio.Task[None] | None = None
    closing: bool = False


class EchoPeers:
    """The live echo peers, one per owner (a link and device), at most ``limit``."""

    def __init__(
        self,
        *,
        ice_servers: Iterable[Mapping[str, Any]] = (),
        host: str = "127.0.0.1",
        limit: int = DEFAULT_LIMIT,
        lifetime_s: float = DEFAULT_LIFETIME_S,
    ) -> None:
        self.limit, self.lifetime_s = limit, lifetime_s
        self._ice_servers = [dict(s) for s in ice_servers]
        # On a loopback-bound server every page runs on this machine (see tlh.media.ice).
        self._loopback = is_loopback(host)
        self._peers: dict[str, _Echo] = {}
        self._shut = False

    @property
    def active(self) -> int:
        """Echo peers open or still closing."""
        return len(self._peers)

    async def answer(self, owner: str, offer_sdp: str) -> str:
        """Answer a page's offer with an echo of its tracks; returns the answer's SDP.

        The owner's previous echo peer, if any, is closed first. ``EchoBusy`` when
        ``limit`` peers are already running; ``BadOffer`` for an unusable offer.
        """
        await self.end(owner)
        if self._shut:
            raise Unavailable("the server is shutting down")
        if len(self._peers) >= self.limit:
            raise EchoBusy("the connection test is busy; please try again in a minute")
        from aiortc import RTCPeerConnection  # deferred: see the module docstring

        from .ice import configuration

        echo = _Echo(owner, RTCPeerConnection(configuration(self._ice_servers)))
        self._peers[owner] = echo  # the slot is taken before the first await
        echo.pc.on("track", lambda track: _loop_back(echo.pc, track))
        echo.pc.on("connectionstatechange", lambda: _note_state(echo))
        try:
            answer = await self._negotiate(echo.pc, offer_sdp)
        except BaseException as exc:
            replaced = echo.closing  # a newer offer or shutdown closed it meanwhile
            await self._release(echo)
            if replaced and isinstance(exc, Exception):
                raise EchoBusy("this connection test was stopped; please try again") from None
            raise
        echo.watcher = asyncio.get_running_loop().create_task(self._watch(echo))
        return answer

    async def end(self, owner: str) -> None:
        """Close the owner's echo peer (the page has its figures, or starts again)."""
        echo = self._peers.get(owner)
        if echo is not None:
            await self._release(echo)

    async def close(self) -> None:
        """Close every echo peer and answer no more offers (server shutdown)."""
        self._shut = True
        for echo in list(self._peers.values()):
            await self._release(echo)

    async def _negotiate(self, pc: RTCPeerConnection, offer_sdp: str) -> str:
        from aiortc import RTCSessionDescription

        from .ice import gathering

        try:
            await pc.setRemoteDescription(RTCSessionDescription(sdp=offer_sdp, type="offer"))
        except Exception:  # aiortc's SDP parser fails in many ways on a malformed offer
            raise BadOffer("the offer is not a usable WebRTC session description") from None
        if not any(t.sender.track is not None for t in pc.getTransceivers()):
            raise BadOffer("the offer sends no audio or video to echo")
        answer = await pc.createAnswer()
        await gathering(self._loopback, lambda: pc.setLocalDescription(answer))
        return str(pc.localDescription.sdp)

    async def _watch(self, echo: _Echo) -> None:
        """Close the peer when its connection ends or its lifetime is up."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(echo.ended.wait(), self.lifetime_s)
        await self._release(echo)

    async def _release(self, echo: _Echo) -> None:
        """Close one echo peer (idempotent); its slot is free once it is closed."""
        if echo.closing:
            return
        echo.closing = True
        watcher = echo.watcher
        if watcher is not None and watcher is not asyncio.current_task():
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
        from .aiortc_private import close_peer  # deferred with aiortc

        try:
            await close_peer(echo.pc)
        finally:
            if self._peers.get(echo.owner) is echo:
                del self._peers[echo.owner]


def _loop_back(pc: RTCPeerConnection, track: MediaStreamTrack) -> None:
    """Send a received track back (tracks arrive in m-line order, so each goes out on its
    own transceiver); the sender reads it, so it is drained while the peer lives."""
    pc.addTrack(track)


def _note_state(echo: _Echo) -> None:
    if echo.pc.connectionState in _ENDED_STATES:
        echo.ended.set()
