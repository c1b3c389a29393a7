"""One socket's outgoing frames (``Outbox``): a bounded queue that never makes whoever
queues a frame wait for the socket.

A frame for a socket that is keeping up goes out at once, in the caller's turn of the
loop: a relayed signal is one write, not a task made, scheduled and finished per frame
(that cost more than the frame: ~30 us of a signal's ~80 us on a loaded machine). Only
when the socket is backed up (its send has to wait for the transport to drain) does a
task carry on with it and with what queues meanwhile; the task exists only while there
is something to send, so an idle waiting client costs no task.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine
from functools import partial
from typing import Any

from tlh.api.frames import ServerFrame

log = logging.getLogger(__name__)

#: A peer's way out: takes one frame, may return an awaitable (a websocket's send).
Send = Callable[[ServerFrame], Awaitable[None] | None]
#: Frames waiting for one peer before it is judged stuck and dropped from the call.
QUEUE_LIMIT = 256
#: A send started at once and suspended: the coroutine and what it waits for.
_Step = Coroutine[Any, Any, None]


class Outbox:
    """One socket's outgoing frames, in order; see the module's docstring."""

    __slots__ = ("_finishing", "_frames", "_stopped", "_task", "_then", "limit", "send")

    def __init__(self, send: Send, limit: int = QUEUE_LIMIT) -> None:
        self.send = send
        self.limit = limit
        #: Frames waiting behind a send under way; made only then (an empty deque is
        #: 760 bytes, a tenth of what a waiting client's socket costs).
        self._frames: deque[ServerFrame] | None = None
        self._then: Callable[[], Awaitable[Any] | None] | None = None
        self._finishing = False
        self._stopped = False
        self._task: asyncio.Task[None] | None = None

    def offer(self, frame: ServerFrame) -> bool:
        """Queue a frame; False when the socket is stuck (its queue is full)."""
        if self._stopped or self._finishing:
            return True  # the socket is going away: nothing more to say to it
        if self._task is None or self._task.done():
            self._start(frame)
            return True
        if self._frames is None:
            self._frames = deque()
        if len(self._frames) >= self.limit:
            return False
        self._frames.append(frame)  # the task under way sends it in its turn
        return True

    def push(self, frame: ServerFrame) -> None:
        """Queue a frame, dropping it if the socket is stuck (a ``Send`` for the hub)."""
        if not self.offer(frame):
            log.warning("frame dropped: outgoing queue full")

    def finish(self, then: Callable[[], Awaitable[Any] | None] | None = None) -> None:
        """Stop after the frames already queued have gone (``ended`` must arrive), then
        run ``then`` (closing the socket)."""
        if self._finishing or self._stopped:
            return
        self._finishing, self._then = True, then
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._drain())

    @property
    def done(self) -> bool:
        return self._stopped

    def cancel(self) -> None:
        self._stopped = True
        self._frames = None
        if self._task is not None:
            self._task.cancel()

    async def wait(self) -> None:
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def _start(self, frame: ServerFrame) -> None:
        """Send ``frame`` now; if the socket makes it wait, a task carries on."""
        try:
            result = self.send(frame)
        except Exception as exc:
            _failed(exc)
            return
        if result is None:
            return  # written at once (``wsproto.Writer`` while the socket keeps up)
        step = _await(result)
        try:
            waits_for = step.send(None)
        except StopIteration:
            return  # written
        self._task = asyncio.get_running_loop().create_task(self._resume(step, waits_for))
        # Cancelled (the socket went), even before it ran: the send is abandoned.
        self._task.add_done_callback(partial(_abandon, step))

    async def _resume(self, step: _Step, waits_for: Any) -> None:
        """Carry on a send that had to wait (the socket is backed up), then the rest."""
        while True:
            if isinstance(waits_for, asyncio.Future):
                waits_for._asyncio_future_blocking = False  # as a Task does
                if not waits_for.done():
                    await asyncio.wait([waits_for])
            else:  # a bare yield: one turn of the loop
                await asyncio.sleep(0)
            try:
                waits_for = step.send(None)  # the send's await sees the outcome
            except StopIteration:
                break
        await self._drain()

    async def _drain(self) -> None:
        while self._frames and not self._stopped:
            await _call(self.send, self._frames.popleft())
        self._frames = None
        if self._finishing and not self._stopped:
            self._stopped = True
            if self._then is not None:
                await _call(self._then)


def _abandon(step: _Step, _: object) -> None:
    step.close()  # a no-op once the send finished


async def _await(result: Awaitable[Any]) -> None:
    try:
        await result
    except Exception as exc:
        _failed(exc)


async def _call(fn: Callable[..., Awaitable[Any] | None], *args: Any) -> None:
    try:
        result = fn(*args)
        if inspect.isawaitable(result):
            await result
    except Exception as exc:
        _failed(exc)


def _failed(exc: Exception) -> None:
    """A send that failed: a closing socket must not stop the pump. Its type only is
    logged: frames carry SDP, which may hold addresses."""
    log.debug("send failed: %s", type(exc).__name__)
