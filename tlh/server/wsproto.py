"""What every call websocket shares: frames decoded into ``tlh.api.frames``, a flood
limit (the Origin check is ``tlh.server.origin``'s, before the upgrade).

Used by the participant socket (``/api/v1/link/ws``) and the staff call socket
(``/api/v1/call/ws``). A bad frame closes that one socket: 1008 (policy) for a binary
frame, invalid JSON, an unknown type, a frame that does not fit its type or a flood;
1009 for an oversized frame (aiohttp closes those itself through ``max_msg_size``).
"""

from __future__ import annotations

import dis
import functools
import struct
import time
import typing
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
from aiohttp import WSCloseCode, WSMessage, WSMsgType, web

from tlh.api.frames import ServerFrame, Signal
from tlh.api.validation import where
from tlh.server.keys import SETTINGS, WEBSOCKETS

#: Largest frame a call socket accepts (API.md: 16 KiB).
MAX_FRAME_BYTES = 16 * 1024
#: Largest signalling payload (``data`` of a ``signal`` frame).
MAX_SIGNAL_BYTES = 12 * 1024
#: More messages than this in one second closes the socket.
FLOOD_PER_S = 50

_encoder = msgspec.json.Encoder()


class _Tagged(msgspec.Struct):
    """Just a frame's ``type`` (to name what a frame of a known type got wrong)."""

    type: str


class FrameRejected(Exception):
    """A frame that closes its socket: ``code`` is the close code to use."""

    def __init__(self, reason: str, code: int = WSCloseCode.POLICY_VIOLATION) -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code


class FloodGuard:
    """One socket's message budget: a bucket of 50 refilled at 50 per second, so more
    than 50 messages within a second empties it. Two floats per socket (a thousand
    waiting clients each hold one)."""

    __slots__ = ("_clock", "_last", "_tokens", "per_second")

    def __init__(
        self, per_second: int = FLOOD_PER_S, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.per_second = per_second
        self._clock = clock
        self._tokens = float(per_second)
        self._last = clock()

    def hit(self) -> None:
        """Spend one message; ``FrameRejected`` once the budget is gone."""
        now = self._clock()
        refill = (now - self._last) * self.per_second
        self._tokens = min(float(self.per_second), self._tokens + refill)
        self._last = now
        if self._tokens < 1.0:
            raise FrameRejected("too many messages")
        self._tokens -= 1.0


def _assigned(classes: tuple[type, ...]) -> dict[str, None]:
    """The attribute names that the methods of ``classes`` assign (``x.name = ...``,
    ``x.name += ...``), in the order first seen. Mostly on ``self``; a name stored on
    another object only costs an empty slot."""
    names: dict[str, None] = {}
    for cls in classes:
        for member in vars(cls).values():
            parts = (member.fget, member.fset) if isinstance(member, property) else (member,)
            for code in (getattr(f, "__code__", None) for f in parts):
                if code is not None:
                    for op in dis.get_instructions(code):
                        if op.opname == "STORE_ATTR":
                            names[op.argval] = None
    return names


class LeanWebSocket(web.WebSocketResponse):
    """aiohttp's server websocket with its attributes in slots, not in a dict per socket.

    A waiting room holds one socket per waiting page, for as long as the page waits.
    aiohttp (3.14) keeps 36 attributes on each, in a dict that outgrows the class's
    shared keys and ends at 1.6 kB (resized on the way: at the first heartbeat too,
    when a thousand sockets that said hello together ping together). The socket with
    its slots takes 0.4 kB. The names are those the classes' own methods assign, read
    from their code, so a later aiohttp's new attribute is still kept (in the dict, as
    before); class defaults, which a slot would hide, are copied onto each socket first.
    """

    __slots__ = tuple(
        name
        for name in _assigned(web.WebSocketResponse.__mro__[:2])
        # not a method or property: a slot of that name would hide it
        if not hasattr(getattr(web.WebSocketResponse, name, None), "__get__")
    )
    _DEFAULTS: typing.ClassVar[tuple[tuple[str, Any], ...]] = tuple(
        (name, getattr(web.WebSocketResponse, name))
        for name in __slots__
        if hasattr(web.WebSocketResponse, name)
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        for name, value in self._DEFAULTS:
            setattr(self, name, value)
        super().__init__(*args, **kwargs)


async def open_call_socket(request: web.Request) -> web.WebSocketResponse:
    """Upgrade to a call websocket (auth and Origin already checked) and track it."""
    settings = request.app[SETTINGS]
    ws = LeanWebSocket(
        heartbeat=settings.ws_heartbeat_s,
        compress=False,  # per-socket deflate state costs ~100 kB; frames are small
        max_msg_size=MAX_FRAME_BYTES,
    )
    await ws.prepare(request)
    request.app[WEBSOCKETS].add(ws)
    return ws


def release(request: web.Request) -> None:
    """A websocket's handler is done: let its socket go with it.

    aiohttp (3.14) leaves the socket's data callback on the connection's protocol after
    the socket has closed: protocol -> socket -> request -> protocol is a reference
    cycle, so every closed socket (~8 kB with its request and buffers) waited for a full
    collection, and those only come once such garbage is a quarter of what is kept: the
    server's RSS climbed ~8 kB per reconnect for the first ~700 reconnects of a storm
    (``bench/soak_rooms.py``). Dropping the callback ends the cycle; the socket is freed
    when its handler returns.
    """
    protocol = request.protocol
    if getattr(protocol, "_data_received_cb", None) is not None:
        protocol._data_received_cb = None


def parse_frame(msg: WSMessage, frames: Any, guard: FloodGuard | None = None) -> Any:
    """The frame as one of the ``frames`` union's structs; ``None`` when the socket is
    closing.

    Raises ``FrameRejected`` for anything the socket must be closed for.
    """
    if msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED):
        return None
    if msg.type == WSMsgType.ERROR:
        # aiohttp already closed the socket (1009 for an oversized frame).
        return None
    if guard is not None:
        guard.hit()
    if msg.type != WSMsgType.TEXT:
        raise FrameRejected("binary frames are not accepted")
    if len(msg.data) > MAX_FRAME_BYTES:
        raise FrameRejected("frame too large", WSCloseCode.MESSAGE_TOO_BIG)
    try:
        return _decoder(frames).decode(msg.data)
    except msgspec.ValidationError as exc:
        raise FrameRejected(_refusal(exc, msg.data, frames)) from None
    except msgspec.DecodeError:
        raise FrameRejected("invalid JSON") from None
    except RecursionError:  # msgspec's answer to nesting past the recursion limit
        raise FrameRejected("nested too deeply") from None


def _refusal(exc: msgspec.ValidationError, data: str, frames: Any) -> str:
    """Why a frame that is JSON but not one of ``frames`` is refused (never its text)."""
    message, place = where(exc)
    untyped = place == "$" and (
        message.startswith("Expected `object`") or message.endswith("field `type`")
    )
    if untyped or place == "$.type":
        return "unknown message type"
    # A known type, but not in its shape: that type's own reason.
    try:
        kind = _by_tag(frames).get(msgspec.json.decode(data, type=_Tagged).type)
    except msgspec.DecodeError:
        kind = None
    return str(kind.refused) if kind is not None else "unknown message type"


@functools.cache
def _decoder(frames: Any) -> msgspec.json.Decoder[Any]:
    return msgspec.json.Decoder(frames)


@functools.cache
def _by_tag(frames: Any) -> dict[str, Any]:
    return {cls.__struct_config__.tag: cls for cls in typing.get_args(frames)}


def check_signal(frame: Signal) -> None:
    """A ``signal`` frame's payload is a JSON object within ``MAX_SIGNAL_BYTES``."""
    data = frame.data
    if len(data) > MAX_SIGNAL_BYTES:
        raise FrameRejected("signal data too large", WSCloseCode.MESSAGE_TOO_BIG)
    # Raw is the value's own bytes (valid JSON, no whitespace around): an object starts
    # with "{". Anything else is refused as the typed field refused it.
    if bytes(memoryview(data)[:1]) != b"{":
        raise FrameRejected(Signal.refused)


async def reject(ws: web.WebSocketResponse, err: FrameRejected) -> None:
    """Close one socket for a bad frame (the reason is generic, never echoes input)."""
    await ws.close(code=err.code, message=err.reason.encode()[:120])


def sender(write: Callable[[ServerFrame], Awaitable[None] | None]) -> Callable[[ServerFrame], Any]:
    """An awaitable ``send`` over a ``writer``'s: written at once, then the drain awaited
    when the writer hands it back (for a handler that sends a frame itself)."""

    async def send(frame: ServerFrame) -> None:
        drained = write(frame)
        if drained is not None:
            await drained

    return send


class Writer:
    """A ``send`` for an ``Outbox``: writes the frame to the transport at once and
    returns ``None``; when that filled the transport past its high-water mark, returns
    the connection's drain to await (the ``Outbox`` queues what comes meanwhile).

    The frame is the one aiohttp's writer would write (RFC 6455: FIN + text, no mask
    from a server; the socket has no compression: ``open_call_socket``), written without
    the three coroutines ``send_frame`` goes through, which were a tenth of the server's
    work per relayed signal. Frames stay in order with aiohttp's own (pings, close):
    both write to the transport at once, in the order they are called.

    An object with four slots, not a closure over four cells: every waiting page's
    socket holds one for its visit (~70 bytes instead of ~450).
    """

    __slots__ = ("_protocol", "_request", "_transport", "_ws")

    def __init__(self, ws: web.WebSocketResponse, request: web.Request) -> None:
        self._ws = ws
        self._request = request
        self._transport = request.transport
        self._protocol = request.protocol

    def __call__(self, frame: ServerFrame) -> Awaitable[None] | None:
        transport = self._transport
        if self._ws.closed or transport is None or transport.is_closing():
            return None  # going away: nothing more to say to it
        data = _encoder.encode(frame)
        transport.write(_text_header(len(data)) + data)
        return self._request.writer.drain() if self._protocol.writing_paused else None


def _text_header(length: int) -> bytes:
    """A final text frame's header for a payload of ``length`` bytes, unmasked."""
    if length < 126:
        return _LEN1(0x81, length)
    if length < 65536:
        return _LEN2(0x81, 126, length)
    return _LEN3(0x81, 127, length)


_LEN1 = struct.Struct("!BB").pack
_LEN2 = struct.Struct("!BBH").pack
_LEN3 = struct.Struct("!BBQ").pack
