"""A small HTTP/1.1 client: h11 framing over asyncio streams, keep-alive, a timeout on every wait.

Why not aiohttp: importing it alone takes ~250 ms, most of the 400 ms budget of a whole
``tlh appt list`` command. h11 + asyncio streams import in a few milliseconds.

Waits are bounded with ``asyncio.timeout``, not ``wait_for``: on Python 3.11 a cancel
arriving as the awaited read completes is lost by ``wait_for``, and a cancelled
dashboard worker would carry on.
"""

from __future__ import annotations

import asyncio
import contextlib
import select
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

import h11

from tlh.errors import InvalidInput, Unavailable

#: Bytes written per step of an upload; the progress callback runs after each.
CHUNK = 256 * 1024
ProgressCallback = Callable[[int, int], None]


@dataclass(frozen=True)
class Response:
    """What the server answered: status, lower-case headers and the whole body."""

    status: int
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True)
class Endpoint:
    """Where the server listens, parsed once from its base URL."""

    url: str
    scheme: str
    host: str
    port: int
    base_path: str

    @classmethod
    def parse(cls, url: str) -> Endpoint:
        """Parse ``http(s)://host[:port][/prefix]``; anything else is InvalidInput."""
        parts = urlsplit(url.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise InvalidInput("the server URL must look like http://HOST:PORT or https://HOST")
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            raise InvalidInput("the server URL has a bad port") from None
        clean = f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"
        return cls(clean, parts.scheme, parts.hostname, port, parts.path.rstrip("/"))

    @property
    def host_header(self) -> str:
        default = 443 if self.scheme == "https" else 80
        return self.host if self.port == default else f"{self.host}:{self.port}"


def _reason(exc: BaseException, timeout: float) -> str:
    """A short, token-free description of a network failure."""
    if isinstance(exc, TimeoutError):
        return f"no answer within {timeout:g} s"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, socket.gaierror):
        return "host name not found"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"TLS certificate not trusted ({exc.verify_message}); set TLH_CA_FILE"
    if isinstance(exc, ssl.SSLError):
        return f"TLS error ({exc.reason})"
    if isinstance(exc, h11.ProtocolError):
        return "the server sent a malformed HTTP answer"
    if isinstance(exc, ConnectionError | EOFError):
        return "the connection was closed"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    return type(exc).__name__


class Transport:
    """One keep-alive connection to one server, used by one task at a time."""

    def __init__(self, url: str, timeout: float = 30.0, ca_file: str | None = None) -> None:
        self.endpoint = Endpoint.parse(url)
        self.timeout = timeout
        self._ca_file = ca_file
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._h11: h11.Connection | None = None
        self._lock = asyncio.Lock()

    def _ssl(self) -> ssl.SSLContext | None:
        if self.endpoint.scheme != "https":
            return None
        context = ssl.create_default_context()
        if self._ca_file:
            context.load_verify_locations(self._ca_file)
        return context

    async def open_stream(
        self, wait: float | None = None
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """A new connection to the server (TLS and CA file per the URL and settings),
        within ``wait`` (default the transport's timeout). Every request and the event
        stream's websocket (``tlh.client.websocket``) open theirs here."""
        async with asyncio.timeout(self.timeout if wait is None else wait):
            return await asyncio.open_connection(
                self.endpoint.host, self.endpoint.port, ssl=self._ssl()
            )

    async def _connect(self, wait: float) -> None:
        self._reader, self._writer = await self.open_stream(wait)
        self._h11 = h11.Connection(our_role=h11.CLIENT)

    async def close(self) -> None:
        """Close the connection (idempotent)."""
        writer, self._writer, self._reader, self._h11 = self._writer, None, None, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(OSError, TimeoutError, ssl.SSLError):
                async with asyncio.timeout(1.0):
                    await writer.wait_closed()

    async def request(
        self,
        method: str,
        path: str,
        body: bytes = b"",
        headers: list[tuple[str, str]] | None = None,
        wait_s: float | None = None,
        progress: ProgressCallback | None = None,
    ) -> Response:
        """Send one request and read the whole answer (each network wait limited to
        ``wait_s``, default the transport's timeout); network failures raise Unavailable."""
        wait = self.timeout if wait_s is None else wait_s
        async with self._lock:
            if self._h11 is not None and not self._reusable():
                # The server closed the idle connection (its keep-alive timeout, 75 s for
                # ``tlh serve``): nothing of this request was sent, so any method may go
                # out on a fresh connection.
                await self.close()
            reused = self._h11 is not None
            try:
                return await self._exchange(method, path, body, headers or [], wait, progress)
            except (OSError, EOFError, h11.ProtocolError) as exc:
                await self.close()
                # The connection looked alive but failed under the request (closed at the
                # very moment it was reused): the server may have acted on it, so only an
                # idempotent request is sent again.
                if reused and method in ("GET", "HEAD", "DELETE", "PUT"):
                    try:
                        return await self._exchange(
                            method, path, body, headers or [], wait, progress
                        )
                    except (OSError, EOFError, h11.ProtocolError, TimeoutError) as again:
                        await self.close()
                        raise self.unavailable(again, wait) from None
                raise self.unavailable(exc, wait) from None
            except TimeoutError as exc:
                await self.close()
                raise self.unavailable(exc, wait) from None
            except BaseException:
                await self.close()
                raise

    def _reusable(self) -> bool:
        """Whether the idle kept-alive connection can carry the next request.

        An idle HTTP/1.1 connection has nothing to read: readable means the server closed
        it (EOF) or sent something unasked, and either way it is done. Checked before
        sending, as httpcore and urllib3 do, both on the stream (the loop may already have
        seen the close) and on the socket (it may not have yet).
        """
        reader, writer, conn = self._reader, self._writer, self._h11
        if reader is None or writer is None or conn is None:
            return False
        if writer.is_closing() or reader.at_eof() or reader.exception() is not None:
            return False
        if conn.trailing_data[0] or conn.our_state is not h11.IDLE:
            return False
        sock = writer.get_extra_info("socket")
        if sock is None:
            return True
        try:
            readable, _, _ = select.select([sock], [], [], 0)
        except (OSError, ValueError):
            return False
        return not readable

    def unavailable(self, exc: BaseException, wait: float) -> Unavailable:
        """The error for a network failure: which server, and why (never a token)."""
        return Unavailable(
            f"cannot reach the tlh server at {self.endpoint.url}: {_reason(exc, wait)}"
        )

    async def _exchange(
        self,
        method: str,
        path: str,
        body: bytes,
        headers: list[tuple[str, str]],
        wait: float,
        progress: ProgressCallback | None,
    ) -> Response:
        if self._h11 is None:
            await self._connect(wait)
        conn, reader, writer = self._h11, self._reader, self._writer
        assert conn is not None
        assert reader is not None
        assert writer is not None
        head = [
            ("Host", self.endpoint.host_header),
            ("User-Agent", "tlh-client"),
            ("Content-Length", str(len(body))),
            *headers,
        ]
        target = self.endpoint.base_path + path
        writer.write(conn.send(h11.Request(method=method, target=target, headers=head)))
        for start in range(0, len(body), CHUNK):
            writer.write(conn.send(h11.Data(data=body[start : start + CHUNK])))
            async with asyncio.timeout(wait):
                await writer.drain()
            if progress is not None:
                progress(min(start + CHUNK, len(body)), len(body))
        writer.write(conn.send(h11.EndOfMessage()))
        async with asyncio.timeout(wait):
            await writer.drain()

        status, answer_headers, chunks = 0, {}, []
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                async with asyncio.timeout(wait):
                    data = await reader.read(65536)
                if not data and not status:
                    # Closed before any answer (h11 would call that a protocol error).
                    raise ConnectionResetError("closed before answering")
                conn.receive_data(data)
            elif isinstance(event, h11.Response):
                status = event.status_code
                answer_headers = {k.decode().lower(): v.decode("latin-1") for k, v in event.headers}
            elif isinstance(event, h11.Data):
                chunks.append(bytes(event.data))
            elif isinstance(event, h11.EndOfMessage):
                break
            elif isinstance(event, h11.ConnectionClosed):
                raise ConnectionResetError("closed mid-answer")
        if conn.our_state is h11.DONE and conn.their_state is h11.DONE:
            conn.start_next_cycle()
        else:
            await self.close()
        return Response(status, answer_headers, b"".join(chunks))
