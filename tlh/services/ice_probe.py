"""Whether the STUN and TURN servers handed to call pages answer (``tlh doctor``).

A STUN server must answer a Binding request; a TURN server must grant an allocation
with the configured credentials (which is then deleted). aioice speaks both protocols;
this module only asks and says what came back, bounded by a timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from dataclasses import dataclass
from typing import Any

from tlh.errors import InvalidInput

#: ``stun:host[:port]`` / ``turn:host[:port][?transport=udp|tcp]`` (RFC 7064 / 7065).
_URL = re.compile(
    r"(?P<scheme>stuns?|turns?):(?P<host>\[[0-9a-fA-F:.]+\]|[^:?\s]+)"
    r"(?::(?P<port>\d{1,5}))?(?:\?transport=(?P<transport>udp|tcp))?"
)


class CredentialsRefused(InvalidInput):
    """The TURN server answered 401: it does not accept the username or credential."""


@dataclass(frozen=True)
class IceUrl:
    """One STUN or TURN server address."""

    scheme: str
    host: str
    port: int
    transport: str

    @property
    def is_turn(self) -> bool:
        """TURN (relay) rather than STUN (address discovery)."""
        return self.scheme.startswith("turn")

    @property
    def secure(self) -> bool:
        """``stuns:``/``turns:``: over TLS."""
        return self.scheme.endswith("s")


def parse_url(url: str) -> IceUrl:
    """Read one ICE server URL; ``InvalidInput`` naming it when it is malformed."""
    found = _URL.fullmatch(url.strip())
    if found is None:
        raise InvalidInput(f"{url!r} is not a stun:/turn: URL")
    scheme = found["scheme"]
    port = int(found["port"]) if found["port"] else (5349 if scheme.endswith("s") else 3478)
    if not 0 < port < 65536:
        raise InvalidInput(f"{url!r}: the port must be between 1 and 65535")
    transport = found["transport"] or ("tcp" if scheme.endswith("s") else "udp")
    if not scheme.startswith("turn") and found["transport"]:
        raise InvalidInput(f"{url!r}: a STUN URL takes no transport")
    return IceUrl(scheme, found["host"].strip("[]"), port, transport)


class _Answer(asyncio.DatagramProtocol):
    """Keeps the first STUN message that answers ``transaction_id``."""

    def __init__(self, transaction_id: bytes) -> None:
        self.transaction_id = transaction_id
        self.answer: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        from aioice import stun

        try:
            message = stun.parse_message(data)
        except ValueError:
            return
        if message.transaction_id == self.transaction_id and not self.answer.done():
            self.answer.set_result(message)

    def error_received(self, exc: Exception) -> None:
        if not self.answer.done():
            self.answer.set_exception(exc)


async def stun_binding(url: IceUrl, timeout_s: float) -> tuple[str, int]:
    """This machine's address as the STUN server sees it (UDP, retransmitted)."""
    from aioice import stun

    loop = asyncio.get_running_loop()
    request = stun.Message(message_method=stun.Method.BINDING, message_class=stun.Class.REQUEST)
    transport, protocol = await loop.create_datagram_endpoint(
        lambda: _Answer(request.transaction_id), remote_addr=(url.host, url.port)
    )
    try:
        async with asyncio.timeout(timeout_s):
            while not protocol.answer.done():  # bounded by the timeout
                transport.sendto(bytes(request))
                await asyncio.wait({protocol.answer}, timeout=0.5)
        message = protocol.answer.result()
    finally:
        transport.close()
    if message.message_class != stun.Class.RESPONSE:
        raise InvalidInput(f"the STUN server refused the request ({message.error_code})")
    mapped = message.attributes.get("XOR-MAPPED-ADDRESS")
    if not isinstance(mapped, tuple):
        raise InvalidInput("the STUN server's answer had no address")
    return mapped[0], mapped[1]


class _Closed(asyncio.DatagramProtocol):
    """Notes when the TURN allocation is gone (after ``close``)."""

    def __init__(self) -> None:
        self.closed = asyncio.get_running_loop().create_future()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed.done():
            self.closed.set_result(None)


async def turn_allocate(
    url: IceUrl, username: str | None, credential: str | None, timeout_s: float
) -> tuple[str, int]:
    """The relayed address the TURN server granted (the allocation is deleted again)."""
    from aioice import stun
    from aioice.turn import create_turn_endpoint

    try:
        async with asyncio.timeout(timeout_s):
            transport, protocol = await create_turn_endpoint(
                _Closed,
                (url.host, url.port),
                username,
                credential,
                ssl=True if url.secure else None,
                transport=url.transport,
            )
    except stun.TransactionFailed as exc:
        code = exc.response.error_code
        if code == 401:
            raise CredentialsRefused("the TURN server refused the username or credential") from None
        raise InvalidInput(f"the TURN server refused the allocation ({code})") from None
    relayed = transport.get_extra_info("sockname")
    transport.close()
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(protocol.closed, timeout_s)
    return relayed[0], relayed[1]
