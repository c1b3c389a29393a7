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
nobody hears of a peer twice. Mesh calls only: a relayed segment (the server's SFU) has
its media on one server, and a server joining later learns of the calls already
running only from the peers that join after it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import msgspec

from tlh.api.frames import PeerInfo, ServerFrame, Signalled
from tlh.services.callhub import CallHub
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


class _Signal(msgspec.Struct, tag="signal"):
    to_server: str
    session_id: str
    peer_id: str
    from_: str
    #: The peer's JSON object as it sent it (never decoded on its way through).
    data: msgspec.Raw


_decode = msgspec.json.Decoder(_Joined | _Left | _Signal).decode
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
        if self._applying or (session_id, peer_id) in self._remote:
            return
        message = _Left(server=self.channel.server_id, session_id=session_id, peer_id=peer_id)
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
                    message.session_id, peer.peer_id, peer.label, peer.kind, send, resumed=resumed
                )
            elif isinstance(message, _Left):
                key = (message.session_id, message.peer_id)
                if self._remote.get(key) == message.server:
                    del self._remote[key]
                    self.hub.leave(message.session_id, message.peer_id)
            elif message.to_server == self.channel.server_id:
                frame = Signalled(from_=message.from_, data=message.data)
                self.hub.send_to(message.session_id, message.peer_id, frame)
        except Exception:
            log.exception("a call message from another server failed")
        finally:
            self._applying = False

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
