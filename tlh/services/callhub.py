"""The signalling relay: who is in each session segment's call, and passing frames on.

Peers are the websockets of participants (room entry ids) and staff (staff ids). The hub
only forwards small JSON frames (SDP offers/answers, ICE candidates, joins and leaves);
media never passes through it. Every peer has its own bounded outgoing queue drained by
its own task, so one slow socket never holds up the hub or the other peers.

A segment is a browser mesh up to ``mesh_limit`` peers. Given a ``relay`` factory (the
server's ``tlh.media.relaycall.RelayCall``), a segment can be *relayed* instead: each page
uploads once to the virtual peer ``relay`` and receives each other peer X from the virtual
peer ``relay:X``. To the pages these are ordinary peers (same frames), so the mesh code
works unchanged; signals addressed to them go to the segment's relay call, and the relay
call's signals reach the page ``from`` them. A segment is relayed from its first join when
the practice asks for it always (``relay_always``), when it would grow past the mesh, or
when a page's direct media failed; every page then gets a fresh ``admitted`` frame listing
the virtual peers, ``on_relayed`` records it (once, the one place a segment turns relayed),
and the segment stays relayed until it ends.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from functools import partial
from typing import Any, Protocol

import msgspec

from tlh.api.frames import (
    Admitted,
    Ended,
    PeerAway,
    PeerInfo,
    PeerJoined,
    PeerLeft,
    ServerFrame,
    Signalled,
)
from tlh.errors import Conflict, NotFound
from tlh.services.frame_outbox import Outbox, Send
from tlh.services.ice_plan import IcePlan

log = logging.getLogger(__name__)


#: Peers per segment in a mesh call; beyond it a segment is relayed (when it can be).
MESH_LIMIT = 4
#: Peers per relayed segment: each costs the server one upload and a download per other
#: peer, so n peers are n * n connections at the server.
RELAY_LIMIT = 12
#: The virtual peer each page uploads to, and the prefix of those it receives others from.
RELAY_PEER = "relay"
RELAY_PREFIX = "relay:"


class SessionFull(Conflict):
    code = "session_full"


#: The relay call's way out: (page's peer id, source peer id or None for the upload, data).
RelaySignal = Callable[[str, str | None, dict[str, Any]], None]


class RelaySide(Protocol):
    """The server's side of one relayed segment (``tlh.media.relaycall.RelayCall``)."""

    def add(self, peer_id: str, offer_to: list[str]) -> None:
        """A peer is in: relay its media, and offer it to each of ``offer_to``."""

    def remove(self, peer_id: str) -> None:
        """A peer is out: close its connections and every one carrying its media."""

    def signal(self, peer_id: str, source: str | None, data: Any) -> None:
        """A page's signal to ``relay`` (``source`` None) or to ``relay:source``."""

    async def close(self) -> None:
        """Close every connection (the segment ended, or the server stops)."""


#: Makes a segment's relay call, given where its signals go.
RelayFactory = Callable[[RelaySignal], RelaySide]
#: Told when a segment turns relayed (the server records it on the session segment).
OnRelayed = Callable[[str], Awaitable[object]]


def _nowhere(frame: ServerFrame) -> None:
    """Where frames for a peer that is away go."""


class HubListener(Protocol):
    """Told when a peer of this server's joins or leaves a call (``CallLink``: the other
    servers' hubs hold a stand-in for it)."""

    def joined(self, session_id: str, info: PeerInfo) -> None: ...

    def left(self, session_id: str, peer_id: str) -> None: ...

    def relayed(self, session_id: str) -> None:
        """This server relays the segment now (the others' pages signal to it)."""
        ...


class _Peer(Outbox):
    __slots__ = ("info",)

    def __init__(self, info: PeerInfo, send: Send) -> None:
        super().__init__(send)
        self.info = info


class CallHub:
    """Per session segment, the peers present and the relay between them."""

    def __init__(
        self,
        mesh_limit: int = MESH_LIMIT,
        *,
        relay: RelayFactory | None = None,
        relay_limit: int = RELAY_LIMIT,
        ice_servers: Iterable[Mapping[str, Any]] | IcePlan = (),
        relay_always: Callable[[], bool] = lambda: False,
        on_relayed: OnRelayed | None = None,
    ) -> None:
        self.mesh_limit = mesh_limit
        self.relay_limit = relay_limit
        #: Handed out again in the ``admitted`` frames of a switch to relay.
        self.ice = IcePlan.of(ice_servers)
        self._relay = relay
        self._relay_always = relay_always
        self._on_relayed = on_relayed
        self._calls: dict[str, dict[str, _Peer]] = {}
        self._relays: dict[str, RelaySide] = {}
        #: The server is shutting down: its sockets close, but the peers are not gone
        #: (they come back after the restart; their media flows meanwhile).
        self._quiet = False
        #: Relay calls closing and segments being recorded relayed (awaited on close).
        self._tasks: set[asyncio.Task[Any]] = set()
        #: Several servers: told of this server's peers joining and leaving.
        self.listener: HubListener | None = None

    @property
    def limit(self) -> int:
        """Peers a segment may hold: past the mesh only when it can be relayed."""
        return self.relay_limit if self._relay is not None else self.mesh_limit

    def full(self, session_id: str) -> bool:
        """Whether a new peer would be refused (``SessionFull``)."""
        return self.count(session_id) >= self.limit

    def relayed(self, session_id: str) -> bool:
        """Whether the segment's media goes through the server's relay."""
        return session_id in self._relays

    def relay_of(self, session_id: str) -> RelaySide | None:
        """The segment's relay call, if it is relayed."""
        return self._relays.get(session_id)

    def join(
        self,
        session_id: str,
        peer_id: str,
        label: str,
        kind: str,
        send: Send,
        *,
        resumed: bool = False,
        local: bool = True,
    ) -> list[PeerInfo]:
        """Add a peer; return the peers it must offer to, and tell the others.

        A ``peer_id`` already present (a reload) replaces the old connection, whose
        queued frames are dropped. A new peer beyond ``limit`` is ``SessionFull``. The
        segment turns relayed here when the practice relays always or the mesh is outgrown
        by a peer of this server's (``local``); a stand-in for a peer on another server
        (``CallLink``) never does: that server relays it and says so.
        """
        call = self._calls.setdefault(session_id, {})
        old = call.pop(peer_id, None)
        if old is not None:
            old.cancel()
        elif len(call) >= self.limit:
            if not call:
                del self._calls[session_id]
            raise SessionFull(f"session {session_id} already has {self.limit} participants")
        info = PeerInfo(peer_id=peer_id, label=label, kind=kind)
        others = list(call)
        call[peer_id] = _Peer(info, send)
        if self.listener is not None:
            self.listener.joined(session_id, info)
        relay = self._relays.get(session_id)
        outgrown = len(call) > self.mesh_limit or self._relay_always()
        if relay is None and self._relay is not None and outgrown and local:
            self._switch(session_id, skip=peer_id)
            return self._view(session_id, peer_id)
        if relay is None:
            joined = PeerJoined(peer_id=peer_id, label=label, kind=kind, resumed=resumed)
            self._broadcast(session_id, joined, peer_id)
            return [call[p].info for p in others]
        if old is not None:
            relay.remove(peer_id)  # its old connections went with the old page
        virtual = PeerJoined(peer_id=RELAY_PREFIX + peer_id, label=label, kind=kind)
        self._broadcast(session_id, virtual, peer_id)
        relay.add(peer_id, offer_to=others)
        return self._view(session_id, peer_id)

    def fall_back(self, session_id: str) -> bool:
        """Relay a mesh segment whose direct media failed; False if it cannot or is."""
        if self._relay is None or session_id in self._relays or session_id not in self._calls:
            return False
        self._switch(session_id, skip=None)
        return True

    def relayed_elsewhere(self, session_id: str, relay: RelaySide) -> None:
        """Another server relays the segment (``relay`` passes this server's pages'
        signals to it): its pages here turn to the virtual peers as for a relay of this
        server's; a relay of its own, if it had made one at the same time, is closed."""
        mine = self._relays.pop(session_id, None)
        if mine is not None:
            self._spawn(mine.close())
        self._switch(session_id, skip=None, relay=relay)

    def relay_here(self, session_id: str) -> None:
        """The server that relayed the segment is gone: relay it here from now on (its
        pages here offer anew; those that were on that server do as they come back)."""
        if self._relay is not None and self._relays.pop(session_id, None) is not None:
            self._switch(session_id, skip=None)

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
        self._gone(session_id, peer_id)
        return True

    def quiet(self) -> None:
        """The server is shutting down: sockets closing from now on tell nobody that
        their peer left or is away (the pages keep their connections to each other)."""
        self._quiet = True

    def away(self, session_id: str, peer_id: str, send: Send) -> bool:
        """The peer's connection ``send`` dropped, but it keeps its place in the call (a
        network blip: the reconnect grace): the others hear ``peer.away``, frames for it
        are dropped until it joins again. False if it was not there on that connection."""
        call = self._calls.get(session_id)
        peer = call.get(peer_id) if call else None
        if call is None or peer is None or peer.send != send:
            return False
        peer.cancel()
        call[peer_id] = _Peer(peer.info, _nowhere)
        shown = RELAY_PREFIX + peer_id if session_id in self._relays else peer_id
        if not self._quiet:
            self._broadcast(session_id, PeerAway(peer_id=shown), peer_id)
        return True

    def relay(self, session_id: str, from_peer: str, to_peer: str, data: Any) -> None:
        """Pass a signalling payload from one peer of a segment to another (or to the
        segment's relay call, for a virtual peer)."""
        call = self._calls.get(session_id, {})
        if from_peer not in call:
            raise NotFound(f"peer {from_peer} is not in session {session_id}")
        relay = self._relays.get(session_id)
        if relay is not None and (to_peer == RELAY_PEER or to_peer.startswith(RELAY_PREFIX)):
            source = to_peer.removeprefix(RELAY_PREFIX) if to_peer != RELAY_PEER else None
            if source is not None and (source not in call or source == from_peer):
                raise NotFound(f"peer {to_peer} is not in session {session_id}")
            # The relay reads the SDP: the page's raw JSON becomes objects here only.
            relay.signal(from_peer, source, _objects(data))
            return
        target = call.get(to_peer)
        if target is None or to_peer == from_peer:
            raise NotFound(f"peer {to_peer} is not in session {session_id}")
        self._deliver(session_id, target, Signalled(from_=from_peer, data=data))

    def send_to(self, session_id: str, peer_id: str, frame: ServerFrame) -> bool:
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
            if not peer.offer(Ended()):
                peer.cancel()
            else:
                peer.finish()
        relay = self._relays.pop(session_id, None)
        if relay is not None:
            self._spawn(relay.close())
        return list(call)

    def live_count(self) -> int:
        """Segments with someone in them (metrics)."""
        return sum(1 for peers in self._calls.values() if peers)

    def relayed_peer_count(self) -> int:
        """Peers whose media goes through the server's relay (metrics)."""
        return sum(len(self._calls.get(s, {})) for s in self._relays)

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
        """Stop every pump and close every relay call (server shutdown)."""
        calls, self._calls = self._calls, {}
        relays, self._relays = list(self._relays.values()), {}
        peers = [p for call in calls.values() for p in call.values()]
        for peer in peers:
            peer.cancel()
        for relay in relays:
            await relay.close()
        if self._tasks:
            await asyncio.wait(self._tasks)
        for peer in peers:
            await peer.wait()

    # -- relayed segments ---------------------------------------------------------

    def _view(self, session_id: str, peer_id: str) -> list[PeerInfo]:
        """What ``peer_id`` offers to in a relayed segment: the upload, then the others."""
        uplink = PeerInfo(peer_id=RELAY_PEER, label="", kind="relay")
        return [uplink] + [
            msgspec.structs.replace(p.info, peer_id=RELAY_PREFIX + p.info.peer_id)
            for p in self._calls.get(session_id, {}).values()
            if p.info.peer_id != peer_id
        ]

    def _switch(self, session_id: str, skip: str | None, relay: RelaySide | None = None) -> None:
        """Relay the segment from now on (through ``relay``, another server's; else a
        relay call of this server's, recorded and announced); everyone but ``skip``
        (admitted by the caller) gets a fresh ``admitted`` frame and offers to the
        virtual peers anew."""
        if relay is None:
            assert self._relay is not None
            relay = self._relay(partial(self._from_relay, session_id))
            if self._on_relayed is not None:
                self._spawn(self._on_relayed(session_id))
            if self.listener is not None:
                self.listener.relayed(session_id)
        self._relays[session_id] = relay
        call = self._calls.get(session_id, {})
        for peer_id in list(call):
            relay.add(peer_id, offer_to=[])
        for peer_id, peer in list(call.items()):
            if peer_id == skip:
                continue
            admitted = Admitted(
                peer_id=peer_id,
                session_id=session_id,
                peers=self._view(session_id, peer_id),
                ice_servers=self.ice.servers(peer_id),
            )
            self._deliver(session_id, peer, admitted)

    def _spawn(self, work: Awaitable[object]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _from_relay(
        self, session_id: str, peer_id: str, source: str | None, data: dict[str, Any]
    ) -> None:
        sender = RELAY_PEER if source is None else RELAY_PREFIX + source
        self.send_to(session_id, peer_id, Signalled(from_=sender, data=data))

    # -- delivery -----------------------------------------------------------------

    def _gone(self, session_id: str, peer_id: str) -> None:
        """A peer is out of the call: the others hear of it, its relaying stops."""
        if self.listener is not None:
            self.listener.left(session_id, peer_id)
        call = self._calls.get(session_id)
        relay = self._relays.get(session_id)
        if relay is not None:
            relay.remove(peer_id)
        if not call:
            self._calls.pop(session_id, None)
            return
        shown = RELAY_PREFIX + peer_id if relay is not None else peer_id
        if not self._quiet:
            self._broadcast(session_id, PeerLeft(peer_id=shown), None)

    def _broadcast(self, session_id: str, frame: ServerFrame, skip: str | None) -> None:
        for peer in list(self._calls.get(session_id, {}).values()):
            if peer.info.peer_id != skip:
                self._deliver(session_id, peer, frame)

    def _deliver(self, session_id: str, peer: _Peer, frame: ServerFrame) -> None:
        if not peer.offer(frame):
            # A peer that stopped reading for QUEUE_LIMIT frames is gone in all but name.
            log.warning("peer dropped from %s: outgoing queue full", session_id)
            call = self._calls.get(session_id, {})
            if call.get(peer.info.peer_id) is peer:
                del call[peer.info.peer_id]
                peer.cancel()
                self._gone(session_id, peer.info.peer_id)


def _objects(data: Any) -> Any:
    """A signal's payload as Python objects (it comes as raw JSON from a socket)."""
    return msgspec.json.decode(data) if isinstance(data, msgspec.Raw) else data
