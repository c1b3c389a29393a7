"""A websocket client on the REST transport's footing: wsproto framing over asyncio streams.

The staff event stream used to go through aiohttp, whose import alone costs ~250 ms
(``transport.py`` says why the CLI avoids it). wsproto is the sans-IO websocket library
of h11's authors: it frames, we do the I/O, exactly as the REST path does with h11. So
the socket opens like every request (``Transport.open_stream``: same TLS and CA file,
same connect timeout), carries the same ``Authorization`` and ``User-Agent`` headers and
no ``Origin`` (the server lets an Origin-less client in, as it does the CLI's requests),
and fails with the same ``Unavailable`` message.

No compression (the server offers none either); pings are answered; a silent connection
is pinged after ``heartbeat`` seconds and given half as long again to answer; a message
over ``max_message_bytes`` closes the socket with 1009, as aiohttp's client did.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections import deque

from wsproto import ConnectionType, WSConnection
from wsproto.connection import ConnectionState
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Event,
    Ping,
    RejectConnection,
    RejectData,
    Request,
    TextMessage,
)
from wsproto.utilities import LocalProtocolError, RemoteProtocolError

from tlh.errors import Forbidden, Unauthenticated, Unavailable

from .transport import Transport

#: aiohttp's client default, kept: an event is a few hundred bytes.
MAX_MESSAGE_BYTES = 4 * 1024 * 1024
#: Seconds of silence before a ping (the server pings every 20 s too).
HEARTBEAT_S = 20.0
READ_BYTES = 65536
#: Close codes (RFC 6455, 7.4.1).
NORMAL, GOING_AWAY, ABNORMAL, UNSUPPORTED_DATA = 1000, 1001, 1006, 1003
POLICY_VIOLATION, TOO_BIG = 1008, 1009
#: The server is restarting (SIGTERM, an upgrade): reconnect soon.
SERVICE_RESTART = 1012
#: How long a close may wait for the socket to drain (it is closed either way).
CLOSE_WAIT_S = 1.0

_NETWORK = (OSError, EOFError, TimeoutError, ssl.SSLError, RemoteProtocolError, LocalProtocolError)


class Closed(Exception):
    """The server closed the websocket on purpose (``code`` and its ``reason``)."""

    def __init__(self, code: int, reason: str = "") -> None:
        super().__init__(code, reason)
        self.code = code
        self.reason = reason


class WebSocket:
    """One open client websocket; ``receive`` the server's text messages, then ``close``."""

    def __init__(
        self,
        transport: Transport,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        conn: WSConnection,
        *,
        heartbeat: float,
        max_message_bytes: int,
    ) -> None:
        self._transport = transport
        self._reader = reader
        self._writer = writer
        self._conn = conn
        self.heartbeat = heartbeat
        self.max_message_bytes = max_message_bytes
        self._events: deque[Event] = deque()
        self._parts: list[str] = []
        self._size = 0

    @classmethod
    async def connect(
        cls,
        transport: Transport,
        target: str,
        headers: list[tuple[str, str]],
        *,
        heartbeat: float = HEARTBEAT_S,
        max_message_bytes: int = MAX_MESSAGE_BYTES,
    ) -> WebSocket:
        """Open ``target`` (a path under the server's URL) within the transport's timeout.

        The server's refusal is raised as its error (401 Unauthenticated, 403 Forbidden;
        any other status is Unavailable, to be retried); network failures are Unavailable.
        """
        wait = transport.timeout
        endpoint = transport.endpoint
        conn = WSConnection(ConnectionType.CLIENT)
        writer: asyncio.StreamWriter | None = None
        try:
            reader, writer = await transport.open_stream(wait)
            head = [("User-Agent", "tlh-client"), *headers]
            request = Request(
                host=endpoint.host_header,
                target=endpoint.base_path + target,
                extra_headers=[(k.encode(), v.encode()) for k, v in head],
            )
            writer.write(conn.send(request))
            async with asyncio.timeout(wait):
                await writer.drain()
                status, pending = await _handshake(conn, reader)
        except (RemoteProtocolError, LocalProtocolError):
            _abort(writer)
            raise Unavailable(
                f"the server at {endpoint.url} did not answer the event stream as tlh does"
            ) from None
        except _NETWORK as exc:
            _abort(writer)
            raise transport.unavailable(exc, wait) from None
        except BaseException:
            _abort(writer)
            raise
        if status != 101:
            _abort(writer)
            raise _refused(status)
        socket = cls(
            transport,
            reader,
            writer,
            conn,
            heartbeat=heartbeat,
            max_message_bytes=max_message_bytes,
        )
        socket._events.extend(pending)
        return socket

    async def receive(self) -> str:
        """The next text message. Raises ``Closed`` when the server closed the socket and
        Unavailable when the connection died or stayed silent through a ping."""
        while True:
            while self._events:
                text = await self._take(self._events.popleft())
                if text is not None:
                    return text
            data = await self._read()
            try:
                self._conn.receive_data(data or None)  # b"": the server closed the socket
                self._events.extend(self._conn.events())
            except RemoteProtocolError as exc:
                self.abort()
                raise self._transport.unavailable(exc, self.heartbeat) from None

    async def _take(self, event: Event) -> str | None:
        """Act on one event; a whole text message is returned."""
        if isinstance(event, TextMessage):
            self._size += len(event.data.encode())
            if self._size > self.max_message_bytes:
                await self.close(TOO_BIG)
                raise Closed(TOO_BIG, "message too big")
            self._parts.append(event.data)
            if not event.message_finished:
                return None
            text, self._parts, self._size = "".join(self._parts), [], 0
            return text
        if isinstance(event, Ping):
            await self._send(event.response())
        elif isinstance(event, CloseConnection):
            if self._conn.state is ConnectionState.REMOTE_CLOSING:
                with contextlib.suppress(Unavailable):
                    await self._send(event.response())
            self.abort()
            if event.code == ABNORMAL:  # no close frame: the connection dropped
                raise self._transport.unavailable(ConnectionResetError(), self.heartbeat)
            raise Closed(event.code, event.reason or "")
        elif isinstance(event, BytesMessage):
            await self.close(UNSUPPORTED_DATA)  # the server only ever sends JSON text
            raise Closed(UNSUPPORTED_DATA, "binary message")
        return None

    async def _read(self) -> bytes:
        """Bytes from the server; silent for ``heartbeat``, ping it and wait half as long."""
        try:
            async with asyncio.timeout(self.heartbeat):
                return await self._reader.read(READ_BYTES)
        except TimeoutError:
            pass
        except _NETWORK as exc:
            self.abort()
            raise self._transport.unavailable(exc, self.heartbeat) from None
        await self._send(Ping(b"tlh"))
        try:
            async with asyncio.timeout(self.heartbeat / 2):
                return await self._reader.read(READ_BYTES)
        except _NETWORK as exc:
            self.abort()
            raise self._transport.unavailable(exc, self.heartbeat * 1.5) from None

    async def _send(self, event: Event) -> None:
        wait = self._transport.timeout
        try:
            self._writer.write(self._conn.send(event))
            async with asyncio.timeout(wait):
                await self._writer.drain()
        except _NETWORK as exc:
            self.abort()
            raise self._transport.unavailable(exc, wait) from None

    async def close(self, code: int = NORMAL) -> None:
        """Say goodbye (``code``) if the socket is still open, then close it (idempotent;
        a cancel while saying goodbye still closes it)."""
        try:
            if self._conn.state is ConnectionState.OPEN:
                self._writer.write(self._conn.send(CloseConnection(code=code)))
                async with asyncio.timeout(CLOSE_WAIT_S):
                    await self._writer.drain()
        except _NETWORK:
            pass  # going away anyway
        finally:
            self.abort()

    def abort(self) -> None:
        """Close the connection now, without waiting (safe while being cancelled)."""
        _abort(self._writer)


async def _handshake(conn: WSConnection, reader: asyncio.StreamReader) -> tuple[int, list[Event]]:
    """Read the server's answer to the upgrade: its status (101 when accepted) and any
    events that came in the same bytes."""
    status = 0
    while True:
        data = await reader.read(READ_BYTES)
        conn.receive_data(data or None)
        events = list(conn.events())
        for i, event in enumerate(events):
            if isinstance(event, AcceptConnection):
                return 101, events[i + 1 :]
            if isinstance(event, RejectConnection):
                status = event.status_code
                if not event.has_body:
                    return status, []
            elif isinstance(event, RejectData) and event.body_finished:
                return status, []
        if not data:
            raise ConnectionResetError("closed during the upgrade")


def _refused(status: int) -> Exception:
    """The error for an upgrade the server refused (the body is not shown: the same
    words for every refusal, and no server text on the user's screen)."""
    if status == 401:
        return Unauthenticated("the server refused the event stream: bad token")
    if status == 403:
        return Forbidden("the server refused the event stream")
    return Unavailable(f"the event stream was refused (HTTP {status})")


def _abort(writer: asyncio.StreamWriter | None) -> None:
    if writer is not None and not writer.is_closing():
        writer.close()
