"""What every call websocket shares: frame validation, a flood limit (the Origin check
is ``tlh.server.origin``'s, before the upgrade).

Used by the participant socket (``/api/v1/link/ws``) and the staff call socket
(``/api/v1/call/ws``). A bad frame closes that one socket: 1008 (policy) for a binary
frame, invalid JSON, an unknown type or a flood; 1009 for an oversized frame (aiohttp
closes those itself through ``max_msg_size``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import msgspec
from aiohttp import WSCloseCode, WSMessage, WSMsgType, web

from tlh.server.keys import SETTINGS, WEBSOCKETS

#: Largest frame a call socket accepts (API.md: 16 KiB).
MAX_FRAME_BYTES = 16 * 1024
#: Largest signalling payload (``data`` of a ``signal`` frame).
MAX_SIGNAL_BYTES = 12 * 1024
#: More messages than this in one second closes the socket.
FLOOD_PER_S = 50

_decoder = msgspec.json.Decoder()
_encoder = msgspec.json.Encoder()


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


async def open_call_socket(request: web.Request) -> web.WebSocketResponse:
    """Upgrade to a call websocket (auth and Origin already checked) and track it."""
    settings = request.app[SETTINGS]
    ws = web.WebSocketResponse(
        heartbeat=settings.ws_heartbeat_s,
        compress=False,  # per-socket deflate state costs ~100 kB; frames are small
        max_msg_size=MAX_FRAME_BYTES,
    )
    await ws.prepare(request)
    request.app[WEBSOCKETS].add(ws)
    return ws


def parse_frame(
    msg: WSMessage, allowed: frozenset[str], guard: FloodGuard | None = None
) -> dict[str, Any] | None:
    """The frame as a dict with a known ``type``; ``None`` when the socket is closing.

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
        frame = _decoder.decode(msg.data)
    except msgspec.DecodeError:
        raise FrameRejected("invalid JSON") from None
    except RecursionError:  # msgspec's answer to nesting past the recursion limit
        raise FrameRejected("nested too deeply") from None
    if not isinstance(frame, dict) or frame.get("type") not in allowed:
        raise FrameRejected("unknown message type")
    return frame


def signal_target(frame: dict[str, Any]) -> tuple[str, Any]:
    """The ``to`` and ``data`` of a ``signal`` frame, checked for shape and size."""
    to, data = frame.get("to"), frame.get("data")
    if not isinstance(to, str) or not to or not isinstance(data, dict):
        raise FrameRejected("signal needs to and data")
    if len(_encoder.encode(data)) > MAX_SIGNAL_BYTES:
        raise FrameRejected("signal data too large", WSCloseCode.MESSAGE_TOO_BIG)
    return to, data


async def reject(ws: web.WebSocketResponse, err: FrameRejected) -> None:
    """Close one socket for a bad frame (the reason is generic, never echoes input)."""
    await ws.close(code=err.code, message=err.reason.encode()[:120])


def sender(ws: web.WebSocketResponse) -> Callable[[dict[str, Any]], Any]:
    """A ``send`` for the call hub: encodes once, ignores a socket already closing."""

    async def send(frame: dict[str, Any]) -> None:
        if not ws.closed:
            await ws.send_str(_encoder.encode(frame).decode())

    return send
