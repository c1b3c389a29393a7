"""``EventStream``: the staff events as one async iterator that reconnects by itself.

Both the dashboard and ``tlh room watch`` read it. It yields the server's events and,
between them, what happened to the connection: ``Connected`` (live, again: whatever
happened meanwhile was missed, so the reader fetches its state afresh), ``Reconnecting``
(why, and when the next attempt is), then for good ``Superseded`` (this user's newer
dashboard took over) or ``SignedOut`` (the token was refused). A dropped connection is
retried after a bounded, doubling delay, cut short by ``retry_now``; a reader whose own
follow-up request failed calls ``drop`` to reconnect the same way.

Cancellation always wins: a cancel that a network wait turned into a timeout (as
aiohttp's own timeouts did when both fired together) is not taken for a dropped
connection to retry, so the reader's task ends when it is cancelled.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import msgspec

from tlh.api.events import StaffEvent as StaffEvent  # the one definition; readers import it here
from tlh.errors import Forbidden, TlhError, Unauthenticated

if TYPE_CHECKING:
    from .websocket import WebSocket


@dataclass(frozen=True)
class Connected:
    """The stream is live (again); events from before were missed: fetch afresh."""


@dataclass(frozen=True)
class Reconnecting:
    """The connection failed or dropped (``reason``); the next attempt in ``retry_in`` s."""

    reason: str
    retry_in: float
    attempt: int


@dataclass(frozen=True)
class Superseded:
    """This user opened a dashboard elsewhere; this stream ended for good."""


@dataclass(frozen=True)
class SignedOut:
    """The server refused the token (revoked, disabled); the stream ended for good."""

    error: Unauthenticated | Forbidden

    @property
    def reason(self) -> str:
        """What the server's refusal says (no token in it)."""
        return self.error.message


StreamState = Connected | Reconnecting | Superseded | SignedOut
Item = StaffEvent | StreamState
Connect = Callable[[], Awaitable["WebSocket"]]

READY = "events.ready"
SUPERSEDED = "dashboard.superseded"


@dataclass(frozen=True)
class Backoff:
    """Delays between attempts: ``first_s``, doubling, never over ``max_s``.

    The dashboard's default keeps the cap short: a clinician's screen must be live
    within ~2 s of the server answering again, and a refused connection costs nothing.
    """

    first_s: float = 0.25
    max_s: float = 2.0

    def delays(self) -> Iterator[float]:
        """The delay before each next attempt."""
        delay = self.first_s
        while True:
            yield delay
            delay = min(delay * 2, self.max_s)


class _Dropped(Exception):
    """The reader asked for a new connection (``EventStream.drop``)."""


class EventStream(contextlib.AbstractAsyncContextManager["EventStream"]):
    """Staff events and connection changes, reconnecting until superseded or signed out.

    Use as ``async with client.events() as stream: async for item in stream: ...``; the
    socket is closed when the block is left.
    """

    def __init__(self, connect: Connect, *, backoff: Backoff | None = None) -> None:
        self._connect = connect
        self.backoff = backoff or Backoff()
        self._wake = asyncio.Event()
        self._dropped: str | None = None
        self._items: AsyncGenerator[Item, None] | None = None

    def retry_now(self) -> None:
        """Cut the wait before the next attempt short (a key press, a network change)."""
        self._wake.set()

    def drop(self, reason: str) -> None:
        """This connection is no good (the reader's resync failed): close it and
        reconnect as if it had dropped; takes effect at the next item."""
        self._dropped = reason

    def __aiter__(self) -> AsyncIterator[Item]:
        if self._items is None:
            self._items = self._run()
        return self._items

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Stop: close the socket if one is open (idempotent)."""
        items, self._items = self._items, None
        if items is not None:
            await items.aclose()

    async def _run(self) -> AsyncGenerator[Item, None]:
        # wsproto (~15 ms) only for the commands that stream events.
        from .websocket import GOING_AWAY, POLICY_VIOLATION, SERVICE_RESTART, Closed

        delays = self.backoff.delays()
        attempt = 0
        while True:
            socket: WebSocket | None = None
            reason = "connection lost"
            self._dropped = None  # a drop asked for between connections means nothing
            try:
                socket = await self._connect()
                while True:
                    event = _decode(await socket.receive())
                    if event is None:
                        continue
                    if event.type == SUPERSEDED:
                        yield Superseded()
                        return
                    if event.type == READY:
                        delays, attempt = self.backoff.delays(), 0
                        self._wake.clear()  # a retry_now from before is spent
                        yield Connected()
                    else:
                        yield event
                    _cancel_wins()  # the reader may have swallowed one meanwhile
                    if self._dropped is not None:
                        raise _Dropped(self._dropped)
            except (Unauthenticated, Forbidden) as exc:
                _cancel_wins()
                yield SignedOut(exc)
                return
            except Closed as exc:
                _cancel_wins()
                if exc.code == POLICY_VIOLATION and exc.reason == "superseded":
                    yield Superseded()
                    return
                if exc.code == SERVICE_RESTART:
                    reason = "the server is restarting"
                elif exc.code == GOING_AWAY:
                    reason = "the server is going away"
            except _Dropped as exc:
                reason = str(exc)
            except TlhError as exc:
                _cancel_wins()
                reason = exc.message
            finally:
                if socket is not None:
                    await socket.close()
            attempt += 1
            delay = next(delays)
            yield Reconnecting(reason, delay, attempt)
            await self._pause(delay)

    async def _pause(self, delay: float) -> None:
        """Wait ``delay`` seconds before the next attempt, or less after ``retry_now``."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(delay):
                await self._wake.wait()
        self._wake.clear()


def _decode(text: str) -> StaffEvent | None:
    try:
        return msgspec.json.decode(text, type=StaffEvent)
    except (msgspec.ValidationError, msgspec.DecodeError):
        return None


def _cancel_wins() -> None:
    """Re-raise a cancel that a network wait turned into an error: the task is being
    cancelled (``cancelling()``), so it must end, not retry."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError
