"""Relay mode for one session segment: the server's peers stand in for every pair of pages.

In a mesh every page uploads to every other page. In relay mode each page uploads once,
to the server (its ``relay`` peer), and receives each other participant X from a server
peer ``relay:X`` (the naming and routing are ``tlh.services.callhub``'s; here a leg is
``(participant, source)``, source ``None`` for the upload). Per participant the call
holds one ``Relay`` (``tlh.media.relay``: media forwarded, never decoded) whose publisher
is that participant's upload, and whose subscribers are its downloads at the others: n
participants are n uploads and n(n-1) downloads at the server, which is why the hub caps
a relayed segment.

Signalling is the pages' own (browser-shaped descriptions and trickled candidates): the
call answers their offers, and offers itself when a newcomer's media must reach those
already there (they were told ``peer.joined`` and wait for an offer, as in the mesh).
aiortc gathers before ``setLocalDescription`` returns, so its candidates ride in the SDP.
Each leg handles its signals in order, on a task of its own. Every connection is closed
when it fails (the ``Relay`` sees to that), when its participant leaves, and when the call
closes (the segment ended, the server stops).

aiortc and PyAV are imported when the first relayed participant arrives at the latest,
never when the server module is imported (see ``tlh.media.echo``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aiortc import RTCPeerConnection

    from .relay import Relay

log = logging.getLogger(__name__)

#: Where the call's signals go: (participant, source or None for the upload, data).
Signal = Callable[[str, str | None, dict[str, Any]], None]
#: Signals waiting on one leg, and candidates waiting for its remote description.
LEG_QUEUE = 256
LEG_PENDING = 64

Step = Callable[[], Awaitable[None]]


@dataclass(eq=False)
class _Leg:
    """One server connection at one participant: its upload (``source`` None) or its
    download of ``source``'s media; ``steps`` are its signals, run in order."""

    participant: str
    source: str | None
    pc: RTCPeerConnection | None = None
    pending: list[dict[str, Any] | None] = field(default_factory=list)
    steps: deque[Step] = field(default_factory=deque)
    task: asyncio.Task[None] | None = None


class RelayCall:
    """The server's connections of one relayed segment."""

    def __init__(
        self,
        out: Signal,
        *,
        ice_servers: Iterable[Mapping[str, Any]] = (),
        loopback: bool = False,
    ) -> None:
        self._out = out
        self._ice_servers = [dict(s) for s in ice_servers]
        #: On a loopback-bound server every page runs on this machine (see tlh.media.ice).
        self._loopback = loopback
        self._relays: dict[str, Relay] = {}
        self._legs: dict[tuple[str, str | None], _Leg] = {}
        self._closing: set[asyncio.Task[None]] = set()
        self._closed = False

    @property
    def participants(self) -> list[str]:
        """Who is relayed, in the order they arrived."""
        return list(self._relays)

    def connections(self) -> dict[tuple[str, str | None], RTCPeerConnection]:
        """The call's connections by (participant, source; None for the upload)."""
        return {key: leg.pc for key, leg in self._legs.items() if leg.pc is not None}

    def relay_of(self, participant: str) -> Relay | None:
        """The relay carrying ``participant``'s media (figures for tests and benches)."""
        return self._relays.get(participant)

    # -- the hub's side ---------------------------------------------------------------

    def add(self, peer_id: str, offer_to: list[str]) -> None:
        """Relay ``peer_id``'s media, and offer it to each of ``offer_to`` now."""
        if self._closed:
            return
        from .relay import Relay  # deferred: see the module docstring

        if peer_id in self._relays:
            self.remove(peer_id)
        self._relays[peer_id] = Relay()
        for other in offer_to:
            if other in self._relays and other != peer_id:
                leg = self._leg(other, peer_id)
                self._step(leg, partial(self._offer, leg))

    def remove(self, peer_id: str) -> None:
        """Close ``peer_id``'s upload and downloads, and everyone's download of it."""
        relay = self._relays.pop(peer_id, None)
        legs = [leg for key, leg in self._legs.items() if peer_id in key]
        for leg in legs:
            del self._legs[(leg.participant, leg.source)]
        if relay is not None or legs:
            self._own(self._retire(peer_id, relay, legs))

    def signal(self, peer_id: str, source: str | None, data: Any) -> None:
        """A page's signal for its upload (``source`` None) or its download of ``source``."""
        if self._closed or not isinstance(data, dict) or peer_id not in self._relays:
            return
        if source is not None and source not in self._relays:
            return
        leg = self._leg(peer_id, source)
        description = data.get("description")
        if isinstance(description, dict):
            self._step(leg, partial(self._description, leg, description))
        elif "candidate" in data:
            candidate = data.get("candidate")
            found = candidate if isinstance(candidate, dict) else None
            self._step(leg, partial(self._candidate, leg, found))

    async def close(self) -> None:
        """Close every connection and wait for the call's tasks (idempotent)."""
        self._closed = True
        for peer_id in list(self._relays):
            self.remove(peer_id)
        while self._closing:
            await asyncio.wait(set(self._closing))

    # -- legs -------------------------------------------------------------------------

    def _leg(self, participant: str, source: str | None) -> _Leg:
        key = (participant, source)
        if key not in self._legs:
            self._legs[key] = _Leg(participant, source)
        return self._legs[key]

    def _step(self, leg: _Leg, step: Step) -> None:
        if len(leg.steps) >= LEG_QUEUE:
            log.warning("relay signal dropped: the leg's queue is full")
            return
        leg.steps.append(step)
        if leg.task is None or leg.task.done():
            leg.task = asyncio.get_running_loop().create_task(self._run(leg))

    async def _run(self, leg: _Leg) -> None:
        while leg.steps and self._legs.get((leg.participant, leg.source)) is leg:
            step = leg.steps.popleft()
            try:
                await step()
            except Exception as exc:  # a bad SDP or a closing peer: this leg only
                # Type only: SDP and candidates carry addresses.
                log.warning("relay signal failed: %s", type(exc).__name__)

    async def _offer(self, leg: _Leg) -> None:
        """Offer ``leg.source``'s media to a page that was told ``peer.joined``."""
        pc = await self._fresh(leg)
        offer = await pc.createOffer()
        await self._set_local(pc, offer)
        self._send_description(leg, pc)

    async def _description(self, leg: _Leg, description: dict[str, Any]) -> None:
        from aiortc import RTCSessionDescription

        kind, sdp = description.get("type"), description.get("sdp")
        if kind not in ("offer", "answer") or not isinstance(sdp, str):
            return
        pc = leg.pc
        if kind == "answer":
            if pc is None or pc.signalingState != "have-local-offer":
                return  # an answer to an offer this leg no longer has
            await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="answer"))
            await self._flush(leg, pc)
            return
        usable = pc is not None and pc.connectionState not in ("failed", "closed")
        if pc is None or not usable or pc.signalingState != "stable":
            pc = await self._fresh(leg)  # a new page, a restart, or glare (we yield)
        await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
        await self._flush(leg, pc)
        answer = await pc.createAnswer()
        await self._set_local(pc, answer)
        self._send_description(leg, pc)

    async def _candidate(self, leg: _Leg, data: dict[str, Any] | None) -> None:
        from .peer import add_candidate

        pc = leg.pc
        if pc is None or pc.remoteDescription is None:
            if len(leg.pending) < LEG_PENDING:
                leg.pending.append(data)
            return
        await add_candidate(pc, data)

    async def _flush(self, leg: _Leg, pc: RTCPeerConnection) -> None:
        from .peer import add_candidate

        pending, leg.pending = leg.pending, []
        for data in pending:
            await add_candidate(pc, data)

    async def _fresh(self, leg: _Leg) -> RTCPeerConnection:
        """A new connection for ``leg``, in its relay (the old one closed)."""
        from aiortc import RTCPeerConnection

        from .ice import configuration

        relay = self._relays[leg.source or leg.participant]
        old, leg.pc = leg.pc, RTCPeerConnection(configuration(self._ice_servers))
        leg.pending = []
        if leg.source is None:
            await relay.attach_publisher(leg.pc)  # closes the old upload
        else:
            if old is not None:
                await relay.remove_subscriber(old)
            relay.add_subscriber(leg.pc)
        return leg.pc

    async def _set_local(self, pc: RTCPeerConnection, description: Any) -> None:
        from .ice import gathering

        await gathering(self._loopback, lambda: pc.setLocalDescription(description))

    def _send_description(self, leg: _Leg, pc: RTCPeerConnection) -> None:
        local = pc.localDescription
        data = {"description": {"type": local.type, "sdp": local.sdp}}
        self._out(leg.participant, leg.source, data)

    # -- closing ----------------------------------------------------------------------

    async def _retire(self, peer_id: str, relay: Relay | None, legs: list[_Leg]) -> None:
        """Stop the legs' signalling, then close their connections and the relay."""
        from .aiortc_private import close_peer

        tasks = [leg.task for leg in legs if leg.task is not None and not leg.task.done()]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for leg in legs:
            if leg.pc is None or leg.source in (None, peer_id):
                continue  # the upload, or a download of peer_id: the relay's to close
            owner = self._relays.get(leg.source)
            if owner is not None:
                await owner.remove_subscriber(leg.pc)
            else:  # its relay is closing too
                await close_peer(leg.pc)
        if relay is not None:
            await relay.close()

    def _own(self, coro: Awaitable[None]) -> None:
        task = asyncio.get_running_loop().create_task(_logged(coro))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)


async def _logged(coro: Awaitable[None]) -> None:
    try:
        await coro
    except Exception as exc:  # closing must go on for the other legs
        log.warning("relay close failed: %s", type(exc).__name__)
