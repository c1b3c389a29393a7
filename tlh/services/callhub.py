"""The signalling relay: who is in each session segment's call, and passing frames on.

Peers are the websockets of participants (room entry ids) and staff (staff ids). The hub
only forwards small JSON frames (SDP offers/answers, ICE candidates, joins and leaves);
media never passes through it. Every peer has its own bounded outgoing queue drained by
its own task, so one slow socket never holds up the hub or the other peers.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec

from tlh.errors import Conflict, NotFound

log = logging.getLogger(__name__)

#: A peer's way out: takes one frame, may return an awaitable (a websocket's send).
Send = Callable[[dict[str, Any]], Awaitable[None] | None]

#: Peers per segment in a mesh call (the media issue adds a relay beyond this).
MESH_LIMIT = 4
#: Frames waiting for one peer before it is judged stuck and dropped from the call.
QUEUE_LIMIT = 256


class SessionFull(Conflict):
    code = "session_full"


class PeerInfo(msgspec.Struct, frozen=True, kw_only=True):
    """One peer as the others see it (no names beyond the label staff chose to show)."""

    peer_id: str
    label: str
    kind: str  # "client" | "contact" | "guest" | "staff"


class Outbox:
    """One socket's outgoing frames: a bounded queue drained by a task of its own, so
    whoever queues a frame never waits for the socket. The task exists only while
    there is something to send (an idle waiting client costs no task)."""

    __slots__ = ("_finishing", "_frames", "_stopped", "_task", "_then", "limit", "send")

    def __init__(self, send: Send, limit: int = QUEUE_LIMIT) -> None:
        self.send = send
        self.limit = limit
        self._frames: deque[dict[str, Any]] = deque()
        self._then: Callable[[], Awaitable[Any] | None] | None = None
        self._finishing = False
        self._stopped = False
        self._task: asyncio.Task[None] | None = None

    def offer(self, frame: dict[str, Any]) -> bool:
        """Queue a frame; False when the socket is stuck (its queue is full)."""
        if self._stopped or self._finishing:
            return True  # the socket is going away: nothing more to say to it
        if len(self._frames) >= self.limit:
            return False
        self._frames.append(frame)
        self._kick()
        return True

    def push(self, frame: dict[str, Any]) -> None:
        """Queue a frame, dropping it if the socket is stuck (a ``Send`` for the hub)."""
        if not self.offer(frame):
            log.warning("frame dropped: outgoing queue full")

    def finish(self, then: Callable[[], Awaitable[Any] | None] | None = None) -> None:
        """Stop after the frames already queued have gone (``ended`` must arrive), then
        run ``then`` (closing the socket)."""
        if self._finishing or self._stopped:
            return
        self._finishing, self._then = True, then
        self._kick()

    @property
    def done(self) -> bool:
        return self._stopped

    def cancel(self) -> None:
        self._stopped = True
        self._frames.clear()
        if self._task is not None:
            self._task.cancel()

    async def wait(self) -> None:
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def _kick(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._drain())

    async def _drain(self) -> None:
        while self._frames and not self._stopped:
            await _call(self.send, self._frames.popleft())
        if self._finishing and not self._frames and not self._stopped:
            self._stopped = True
            if self._then is not None:
                await _call(self._then)


async def _call(fn: Callable[..., Awaitable[Any] | None], *args: Any) -> None:
    try:
        result = fn(*args)
        if inspect.isawaitable(result):
            await result
    except Exception as exc:  # a closing socket must not stop the pump
        # Type only: frames carry SDP, which may hold addresses.
        log.debug("send failed: %s", type(exc).__name__)


class _Peer(Outbox):
    __slots__ = ("info",)

    def __init__(self, info: PeerInfo, send: Send) -> None:
        super().__init__(send)
        self.info = info


class CallHub:
    """Per session segment, the peers present and the relay between them."""

    def __init__(self, mesh_limit: int = MESH_LIMIT) -> None:
        self.mesh_limit = mesh_limit
        self._calls: dict[str, dict[str, _Peer]] = {}

    def join(
        self, session_id: str, peer_id: str, label: str, kind: str, send: Send
    ) -> list[PeerInfo]:
        """Add a peer; return the others (the newcomer offers to each) and tell them.

        A ``peer_id`` already present (a reload) replaces the old connection, whose
        queued frames are dropped. A new peer beyond the mesh limit is ``SessionFull``.
        """
        call = self._calls.setdefault(session_id, {})
        old = call.pop(peer_id, None)
        if old is not None:
            old.cancel()
        elif len(call) >= self.mesh_limit:
            if not call:
                del self._calls[session_id]
            raise SessionFull(f"session {session_id} already has {self.mesh_limit} participants")
        info = PeerInfo(peer_id=peer_id, label=label, kind=kind)
        others = [p.info for p in call.values()]
        call[peer_id] = _Peer(info, send)
        self._broadcast(session_id, {"type": "peer.joined", **msgspec.to_builtins(info)}, peer_id)
        return others

    def leave(self, session_id: str, peer_id: str, send: Send | None = None) -> bool:
        """Take a peer out and tell the others; False if it was not there.

        With ``send``, only that connection is removed: a socket closing after a reload
        replaced it must not take its successor out.
        """
        call = self._calls.get(session_id)
        peer = call.get(peer_id) if call else None
        if call is None or peer is None or (send is not None and peer.send != send):
            return False
        del call[peer_id]
        peer.finish()
        if not call:
            del self._calls[session_id]
        else:
            self._broadcast(session_id, {"type": "peer.left", "peer_id": peer_id}, None)
        return True

    def relay(self, session_id: str, from_peer: str, to_peer: str, data: Any) -> None:
        """Pass a signalling payload from one peer of a segment to another."""
        call = self._calls.get(session_id, {})
        if from_peer not in call:
            raise NotFound(f"peer {from_peer} is not in session {session_id}")
        target = call.get(to_peer)
        if target is None or to_peer == from_peer:
            raise NotFound(f"peer {to_peer} is not in session {session_id}")
        self._deliver(session_id, target, {"type": "signal", "from": from_peer, "data": data})

    def send_to(self, session_id: str, peer_id: str, frame: dict[str, Any]) -> bool:
        """Queue any frame for one peer of a segment; False if it is not there."""
        target = self._calls.get(session_id, {}).get(peer_id)
        if target is None:
            return False
        self._deliver(session_id, target, frame)
        return True

    def end(self, session_id: str) -> list[str]:
        """Tell every peer the call ended and forget the segment; returns their ids."""
        call = self._calls.pop(session_id, {})
        for peer in call.values():
            if not peer.offer({"type": "ended"}):
                peer.cancel()
            else:
                peer.finish()
        return list(call)

    def peers(self, session_id: str) -> list[PeerInfo]:
        """The peers in a segment's call, in the order they joined."""
        return [p.info for p in self._calls.get(session_id, {}).values()]

    def count(self, session_id: str) -> int:
        return len(self._calls.get(session_id, {}))

    def has(self, session_id: str, peer_id: str) -> bool:
        return peer_id in self._calls.get(session_id, {})

    def sessions_of(self, peer_id: str) -> list[str]:
        """The segments a peer is in (normally one)."""
        return [sid for sid, call in self._calls.items() if peer_id in call]

    async def close(self) -> None:
        """Stop every pump (server shutdown)."""
        calls, self._calls = self._calls, {}
        peers = [p for call in calls.values() for p in call.values()]
        for peer in peers:
            peer.cancel()
        for peer in peers:
            await peer.wait()

    def _broadcast(self, session_id: str, frame: dict[str, Any], skip: str | None) -> None:
        for peer in list(self._calls.get(session_id, {}).values()):
            if peer.info.peer_id != skip:
                self._deliver(session_id, peer, frame)

    def _deliver(self, session_id: str, peer: _Peer, frame: dict[str, Any]) -> None:
        if not peer.offer(frame):
            # A peer that stopped reading for QUEUE_LIMIT frames is gone in all but name.
            log.warning("peer dropped from %s: outgoing queue full", session_id)
            call = self._calls.get(session_id, {})
            if call.get(peer.info.peer_id) is peer:
                del call[peer.info.peer_id]
                peer.cancel()
                if not call:
                    self._calls.pop(session_id, None)
                else:
                    self._broadcast(
                        session_id, {"type": "peer.left", "peer_id": peer.info.peer_id}, None
                    )
