"""Calls whose participants are on different servers: signalling through the channel.

A call's peers connect to whichever server the balancer chose (the client's page on A,
the clinician's call page on B). Each server's ``CallHub`` holds its own peers and, for
each peer on another server, a *stand-in*: a peer like the others whose frames go over
the channel (topic ``call``) to the server its socket is on. So ``join`` lists the
remote peers to offer to, ``relay`` delivers an offer, answer or ICE candidate to a
remote peer (SDP payloads of 5-20 kB pass: the channel spills what is past NOTIFY's
8000 bytes), and the call's size counts everyone.

Each hub makes its own membership frames (``peer.joined``, ``peer.left``) from what the
other servers announce; a stand-in forwards only signalling (``signal``) frames, so
nobody hears of a peer twice.

A relayed segment (the server's relay call, which forwards media without decoding it)
has its media on one server, its *home*: the one whose hub turned it relayed says so
(topic ``call``, ``relayed``), and the others' hubs turn it relayed too, through an
``_Elsewhere`` relay that passes their pages' signals to the home's relay call (which
holds a stand-in for each of those pages, as for any remote peer). Two servers turning
one segment relayed at once keep the relay of the lower server id; when the home dies,
the server adopting its entries relays the segment from then on. A server joining
later learns of the calls already running only from the peers that join after it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import msgspec

from tlh.api.frames import PeerInfo, ServerFrame, Signalled
from tlh.services.callhub import RELAY_PEER, RELAY_PREFIX, CallHub
from tlh.services.channel import Channel

log = logging.getLogger("tlh.calls")

TOPIC = "call"


class _Joined(msgspec.Struct, tag="join"):
    server: str
    session_id: str
    peer: PeerInfo


class _Left(msgspec.Struct, tag="leave"):
    server: str
    session_id: str
    peer_id: str


class _Relayed(msgspec.Struct, tag="relayed"):
    server: str
    session_id: str


class _ToRelay(msgspec.Struct, tag="to_relay"):
    """A page's signal to the home server's relay call (``source`` None: its upload)."""

    to_server: str
    session_id: str
    peer_id: str
    source: str | None
    data: msgspec.Raw


class _Signal(msgspec.Struct, tag="signal"):
    to_server: str
    session_id: str
    peer_id: str
    from_: str
    #: The peer's JSON object as it sent it (never decoded on its way through).
    data: msgspec.Raw


_decode = msgspec.json.Decoder(_Joined | _Left | _Signal | _Relayed | _ToRelay).decode
_encode = msgspec.json.Encoder().encode


class CallLink:
    """This server's call peers as the other servers' hubs see them, and theirs here."""

    def __init__(self, channel: Channel, hub: CallHub) -> None:
        self.channel, self.hub = channel, hub
        #: Stand-ins in this hub: (session, peer) -> the server the peer is on.
        self._remote: dict[tuple[str, str], str] = {}
        #: Applying another server's word: the hub's own calls to the listener are not
        #: this server's peers and are not announced.
        self._applying = False
        #: Segments relayed by this server's relay call (it is their home).
        self._home: set[str] = set()
        #: Segments relayed by another server's: session -> that server.
        self._elsewhere: dict[str, str] = {}

    def start(self) -> None:
        """Announce this server's peers and follow the others'."""
        self.hub.listener = self
        self.channel.on(TOPIC, self._received)

    # --- this server's peers -----------------------------------------------------------

    def joined(self, session_id: str, info: PeerInfo) -> None:
        if self._applying:
            return
        self._remote.pop((session_id, info.peer_id), None)  # its page came here
        self.channel.post(
            TOPIC, _encode(_Joined(server=self.channel.server_id, session_id=session_id, peer=info))
        )

    def left(self, session_id: str, peer_id: str) -> None:
        if not self.hub.count(session_id):
            self._home.discard(session_id)
            self._elsewhere.pop(session_id, None)
        if self._applying or (session_id, peer_id) in self._remote:
            return
        message = _Left(server=self.channel.server_id, session_id=session_id, peer_id=peer_id)
        self.channel.post(TOPIC, _encode(message))

    def relayed(self, session_id: str) -> None:
        self._home.add(session_id)
        message = _Relayed(server=self.channel.server_id, session_id=session_id)
        self.channel.post(TOPIC, _encode(message))

    def to_relay(
        self, server: str, session_id: str, peer_id: str, source: str | None, data: Any
    ) -> None:
        """Pass a page's signal to the relay call of the segment's home ``server``."""
        message = _ToRelay(
            to_server=server, session_id=session_id, peer_id=peer_id, source=source, data=_raw(data)
        )
        self.channel.post(TOPIC, _encode(message))

    # --- the other servers' peers ------------------------------------------------------

    def _received(self, payload: bytes) -> None:
        message = _decode(payload)
        self._applying = True
        try:
            if isinstance(message, _Joined):
                key = (message.session_id, message.peer.peer_id)
                self._remote[key] = message.server
                send = self._stand_in(message.server, message.session_id, message.peer.peer_id)
                peer = message.peer
                # A peer that came back (a reload, a failover) is a re-offer: resumed.
                resumed = self.hub.has(message.session_id, peer.peer_id)
                self.hub.join(
                    message.session_id,
                    peer.peer_id,
                    peer.label,
                    peer.kind,
                    send,
                    resumed=resumed,
                    local=False,
                )
            elif isinstance(message, _Left):
                key = (message.session_id, message.peer_id)
                if self._remote.get(key) == message.server:
                    del self._remote[key]
                    self.hub.leave(message.session_id, message.peer_id)
            elif isinstance(message, _Relayed):
                self._relayed_at(message.server, message.session_id)
            elif message.to_server != self.channel.server_id:
                return
            elif isinstance(message, _ToRelay):
                to = RELAY_PEER if message.source is None else RELAY_PREFIX + message.source
                self.hub.relay(message.session_id, message.peer_id, to, message.data)
            else:
                frame = Signalled(from_=message.from_, data=message.data)
                self.hub.send_to(message.session_id, message.peer_id, frame)
        except Exception:
            log.exception("a call message from another server failed")
        finally:
            self._applying = False

    def _relayed_at(self, server: str, session_id: str) -> None:
        """Another server relays the segment: this one's pages signal to its relay."""
        if session_id in self._home and server > self.channel.server_id:
            return  # both turned it relayed at once: ours is kept, theirs steps down
        self._home.discard(session_id)
        self._elsewhere[session_id] = server
        self.hub.relayed_elsewhere(session_id, _Elsewhere(self, server, session_id))

    def server_gone(self, server: str) -> None:
        """A server died: the segments it relayed are relayed here from now on (of
        several servers taking one over at once, the lower id's relay is kept)."""
        for session_id in [s for s, home in self._elsewhere.items() if home == server]:
            del self._elsewhere[session_id]
            self.hub.relay_here(session_id)

    def _stand_in(
        self, server: str, session_id: str, peer_id: str
    ) -> Callable[[ServerFrame], None]:
        """What a stand-in peer does with a frame: signalling goes to its server."""

        def send(frame: ServerFrame) -> None:
            if isinstance(frame, Signalled):
                message = _Signal(
                    to_server=server,
                    session_id=session_id,
                    peer_id=peer_id,
                    from_=frame.from_,
                    data=_raw(frame.data),
                )
                self.channel.post(TOPIC, _encode(message))

        return send


def _raw(data: msgspec.Raw | dict[str, Any]) -> msgspec.Raw:
    """A signal's payload as raw JSON (the relay's own signals are dicts)."""
    return data if isinstance(data, msgspec.Raw) else msgspec.Raw(_encode(data))


class _Elsewhere:
    """The relay of a segment whose home is another server (``RelaySide``): this
    server's pages' signals go there; their stand-ins in the home's hub are what its
    relay call adds and removes, so adding and removing here does nothing."""

    def __init__(self, link: CallLink, server: str, session_id: str) -> None:
        self.link, self.server, self.session_id = link, server, session_id

    def add(self, peer_id: str, offer_to: list[str]) -> None:
        return None

    def remove(self, peer_id: str) -> None:
        return None

    def signal(self, peer_id: str, source: str | None, data: Any) -> None:
        self.link.to_relay(self.server, self.session_id, peer_id, source, data)

    async def close(self) -> None:
        return None
