"""A headless call participant that joins exactly as the client page does.

With a link token: POST /api/v1/link/redeem (Origin = the server), keep the
``__Host-tlh_link`` cookie, open /api/v1/link/ws with it, say ``hello`` and wait. With
a staff token: open /api/v1/call/ws with a Bearer header (the server then sends
``admitted`` for the clinician's open segment). Once admitted it offers to every peer
listed and answers offers from later arrivals, sending a tone and a moving bar and
counting the frames it receives. Every wait is bounded; every peer is closed on
failure and on exit.

The link cookie is ``Secure``: aiohttp's cookie jar drops it over ``http://127.0.0.1``
(tests, demos), so the cookie is carried by hand from the redeem answer to the socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import ssl
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import msgspec
from aiortc.exceptions import InvalidAccessError, InvalidStateError

from tlh.errors import Unavailable

from .ice import configuration, is_loopback_url
from .joining import Joiner
from .peer import PeerLink, SdpFilter

#: Called with (what happened, details) on every state change; details carry ids only.
Observer = Callable[[str, dict[str, Any]], None]


class Participant:
    """One headless participant; use as ``async with`` or call ``close()``."""

    def __init__(
        self,
        server_url: str,
        *,
        link_token: str | None = None,
        staff_token: str | None = None,
        staff_session: str | None = None,
        device_id: str | None = None,
        display_name: str | None = None,
        audio: bool = True,
        video: bool = True,
        loopback: bool | None = None,
        ssl_context: ssl.SSLContext | None = None,
        timeout: float = 10.0,
        observer: Observer | None = None,
        video_size: tuple[int, int] = (320, 240),
        sdp_filter: SdpFilter | None = None,
        location: tuple[str, str] | None = None,
    ) -> None:
        if (link_token is None) == (staff_token is None):
            raise ValueError("give a link token or a staff token")
        parts = urlsplit(server_url)
        self.origin = f"{parts.scheme}://{parts.netloc}"
        self._link_token, self._staff_token = link_token, staff_token
        #: Staff only: the open segment to join (default: their most recent one).
        self.staff_session = staff_session
        self.device_id = device_id or "headless-" + secrets.token_hex(6)
        self.display_name = display_name
        self.audio, self.video = audio, video
        self.video_size = video_size
        #: Tests only: rewrites every description to and from a peer (e.g. to block a path).
        self.sdp_filter = sdp_filter
        #: (place, phone) given before the waiting room, as the page does when the
        #: practice asks where the client is (policy ``ask_location``).
        self.location = location
        #: Loopback-only candidates when the server is on loopback (see tlh.media.ice).
        self.loopback = is_loopback_url(server_url) if loopback is None else loopback
        self._ssl = ssl_context
        self.timeout = timeout
        self._observer = observer
        self.state = "new"
        self.entry_id: str | None = None
        self.peer_id: str | None = None
        self.session_id: str | None = None
        self.messages: list[str] = []
        self.close_code: int | None = None
        self.peers: dict[str, PeerLink] = {}
        self._labels: dict[str, tuple[str, str]] = {}
        self._config = configuration(None)
        self._http: aiohttp.ClientSession | None = None
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._reader: asyncio.Task[None] | None = None
        self._outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._writer: asyncio.Task[None] | None = None
        self._change = asyncio.Event()
        self._media_reported = ""
        self.joined_at: float | None = None
        self.admitted_at: float | None = None
        self.connected_at: float | None = None

    async def __aenter__(self) -> Participant:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- joining --------------------------------------------------------------

    async def start(self) -> None:
        """Redeem the link (if any), open the socket and say hello; then wait in the room."""
        self._http = aiohttp.ClientSession(
            cookie_jar=aiohttp.DummyCookieJar(),
            timeout=aiohttp.ClientTimeout(total=self.timeout),
        )
        joiner = Joiner(self._http, self.origin, self._ssl)
        if self._link_token is not None:
            self._ws = await joiner.link_socket(self._link_token, self.timeout, self.location)
        else:
            assert self._staff_token is not None
            self._ws = await joiner.staff_socket(
                self._staff_token, self.timeout, self.staff_session
            )
        self._set("redeemed", {})
        self.joined_at = time.monotonic()
        self._writer = asyncio.create_task(self._write())
        self._reader = asyncio.create_task(self._read())
        if self._link_token is not None:
            hello: dict[str, Any] = {"type": "hello", "device_id": self.device_id}
            if self.display_name:
                hello["display_name"] = self.display_name
            self.send(hello)
        self._set("connected_ws", {})

    def send(self, frame: dict[str, Any]) -> None:
        """Queue one frame for the socket (written in order by the writer task)."""
        self._outbox.put_nowait(frame)

    async def _write(self) -> None:
        assert self._ws is not None
        while True:
            frame = await self._outbox.get()
            await self._ws.send_str(msgspec.json.encode(frame).decode())

    async def _read(self) -> None:
        assert self._ws is not None
        try:
            async for msg in self._ws:
                if msg.type != aiohttp.WSMsgType.TEXT:
                    break
                try:
                    frame = msgspec.json.decode(msg.data)
                except msgspec.DecodeError:
                    continue
                if isinstance(frame, dict):
                    try:
                        await self._handle(frame)
                    except (InvalidStateError, InvalidAccessError, ValueError) as exc:
                        # One bad or out-of-order signal must not end the participant.
                        self._set(self.state, {"signal_error": type(exc).__name__})
        finally:
            self.close_code = self._ws.close_code
            await self._close_peers()
            if self.state not in ("ended", "left", "denied", "closed"):
                self._set("disconnected", {"code": self.close_code})

    # -- the protocol (docs/API.md, "Websockets") ------------------------------

    async def _handle(self, frame: dict[str, Any]) -> None:
        kind = frame.get("type")
        if kind == "status":
            self.entry_id = frame.get("entry_id") or self.entry_id
            state = str(frame.get("state"))
            if state == "ended":
                await self._close_peers()
            if state != self.state and not (state == "admitted" and self.peers):
                self._set(state, {"entry_id": self.entry_id, "position": frame.get("position")})
        elif kind == "message":
            self.messages.append(str(frame.get("text", "")))
            self._set(self.state, {"message": True})
        elif kind == "admitted":
            await self._admitted(frame)
        elif kind == "peer.joined":
            peer_id = str(frame.get("peer_id"))
            self._labels[peer_id] = (str(frame.get("label", "")), str(frame.get("kind", "")))
            old = self.peers.pop(peer_id, None)
            if old is not None:  # a reload: its old connection is gone
                await old.close()
            self._set(self.state, {"peer_joined": peer_id})
        elif kind == "peer.left":
            old = self.peers.pop(str(frame.get("peer_id")), None)
            if old is not None:
                await old.close()
            self._set(self.state, {"peer_left": frame.get("peer_id")})
        elif kind == "signal":
            await self._signal(str(frame.get("from")), frame.get("data"))
        elif kind == "ended":
            await self._close_peers()
            self._set("ended", {"session_id": self.session_id})

    async def _admitted(self, frame: dict[str, Any]) -> None:
        await self._close_peers()  # a new segment: each side rejoins
        self.admitted_at = time.monotonic()
        self.connected_at = None
        self._media_reported = ""
        self.peer_id = frame.get("peer_id")
        self.session_id = frame.get("session_id")
        self._config = configuration(frame.get("ice_servers"))
        peers = [p for p in frame.get("peers") or [] if isinstance(p, dict)]
        self._set("admitted", {"session_id": self.session_id, "peers": len(peers)})
        for peer in peers:
            if peer.get("peer_id") == self.peer_id:
                continue  # never call ourselves
            link = self._link(str(peer.get("peer_id")), peer.get("label"), peer.get("kind"))
            await link.offer()

    def _link(self, peer_id: str, label: object = None, kind: object = None) -> PeerLink:
        known = self._labels.get(peer_id, ("", ""))
        link = PeerLink(
            peer_id,
            config=self._config,
            loopback=self.loopback,
            send=self._queue,
            changed=self._peer_changed,
            audio=self.audio,
            video=self.video,
            label=str(label or known[0]),
            kind=str(kind or known[1]),
            video_size=self.video_size,
            sdp_filter=self.sdp_filter,
        )
        self.peers[peer_id] = link
        return link

    async def _queue(self, frame: dict[str, Any]) -> None:
        self.send(frame)

    async def _signal(self, sender: str, data: object) -> None:
        if not isinstance(data, dict):
            return
        link = self.peers.get(sender)
        description = data.get("description")
        if isinstance(description, dict):
            offer = description.get("type") == "offer"
            if offer and link is not None and link.pc.signalingState != "stable":
                await link.close()  # glare or a restarted peer: answer on a fresh connection
                link = None
            if link is None:
                if not offer:
                    return
                link = self._link(sender)
            await link.description(description)
        elif "candidate" in data and link is not None:
            candidate = data.get("candidate")
            await link.candidate(candidate if isinstance(candidate, dict) else None)

    def _peer_changed(self) -> None:
        states = [link.state for link in self.peers.values()]
        if "connected" in states and self.connected_at is None:
            self.connected_at = time.monotonic()
        media = "connected" if "connected" in states else ("failed" if "failed" in states else "")
        if media and media != self._media_reported and self._link_token is not None:
            self._media_reported = media
            self.send({"type": "media", "state": media})
            self._set(self.state, {"media": media})
        self._notify()

    # -- waiting and results ---------------------------------------------------

    def _set(self, state: str, details: dict[str, Any]) -> None:
        changed = state != self.state
        self.state = state
        if self._observer is not None and (changed or details):
            self._observer(state, details)
        self._notify()

    def _notify(self) -> None:
        self._change.set()
        self._change = asyncio.Event()

    async def wait_for(self, condition: Callable[[], bool], within: float, what: str) -> None:
        """Wait until ``condition()`` holds; Unavailable naming ``what`` after ``within`` s."""
        deadline = time.monotonic() + within
        while not condition():
            left = deadline - time.monotonic()
            if left <= 0:
                raise Unavailable(f"timed out after {within:g} s waiting for {what}")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._change.wait(), left)

    async def wait_state(self, *states: str, within: float = 10.0) -> None:
        """Wait for one of ``states`` (e.g. ``waiting``, ``admitted``)."""
        await self.wait_for(lambda: self.state in states, within, " or ".join(states))

    async def wait_connected(self, peers: int = 1, within: float = 10.0) -> None:
        """Wait until ``peers`` connections are ``connected``."""
        await self.wait_for(
            lambda: sum(link.state == "connected" for link in self.peers.values()) >= peers,
            within,
            f"{peers} connected peer(s)",
        )

    async def wait_frames(self, frames: int = 1, within: float = 10.0) -> None:
        """Wait until every peer has delivered ``frames`` frames of each kind it sends us
        (in a relayed call: every ``relay:X``; the ``relay`` upload brings nothing back)."""
        wanted = [k for k, on in (("audio", self.audio), ("video", self.video)) if on]

        def enough() -> bool:
            senders = [link for link in self.peers.values() if link.kind != "relay"]
            return bool(senders) and all(
                link.frames_received.get(kind, 0) >= frames for link in senders for kind in wanted
            )

        await self.wait_for(enough, within, f"{frames} frame(s) from every peer")

    def summary(self) -> dict[str, Any]:
        """What happened, for people and ``--json`` (ids and numbers only)."""

        def after(start: float | None, end: float | None) -> float | None:
            return round(end - start, 3) if start is not None and end is not None else None

        return {
            "state": self.state,
            "entry_id": self.entry_id,
            "session_id": self.session_id,
            "admitted_after_s": after(self.joined_at, self.admitted_at),
            "connected_after_s": after(self.admitted_at, self.connected_at),
            "peers": [
                {
                    "peer_id": link.peer_id,
                    "state": link.state,
                    "frames_sent": link.frames_sent,
                    "frames_received": dict(link.frames_received),
                }
                for link in self.peers.values()
            ],
            "messages": len(self.messages),
        }

    # -- leaving --------------------------------------------------------------

    async def leave(self) -> None:
        """Say ``leave`` (best effort) and close everything."""
        if self._ws is not None and not self._ws.closed and self._link_token is not None:
            with contextlib.suppress(ConnectionError, RuntimeError):
                await asyncio.wait_for(self._ws.send_str('{"type":"leave"}'), 2.0)
        self._set("left", {})
        await self.close()

    async def _close_peers(self) -> None:
        peers, self.peers = list(self.peers.values()), {}
        for link in peers:
            await link.close()

    async def close(self) -> None:
        """Close every peer, the socket and the HTTP session (idempotent, bounded)."""
        await self._close_peers()
        for task in (self._writer, self._reader):
            if task is not None and not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await asyncio.wait_for(task, 2.0)
        # The reader ran while the peers closed: an offer it answered meanwhile made a
        # new connection, closed here now that nothing can add another.
        await self._close_peers()
        if self._ws is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._ws.close(), 2.0)
        if self._http is not None:
            await self._http.close()
        if self.state not in ("ended", "left", "denied"):
            self._set("closed", {})
