"""Room sessions nobody is in are closed: after the last person leaves and a grace.

A room session (guests, quick visits: no appointment) has no visit whose end closes it,
so without this it stays open for ever and its clinician shows as busy in a call. The
sessions watched are the open ones found when the server starts (a restart empties
every call: none is left open for ever) and each one started since (``session.started``
on the bus). Every ``interval_s`` each is looked at: someone in its call (a socket, or a
room entry let in whose socket is reconnecting) keeps it; empty for ``grace_s`` closes
it, as the system (``session.end``), and the rooms hear of it as of any session's end.
Appointment sessions are their clinicians' to end (and the reports' to count).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable

from tlh.domain.models import Staff
from tlh.domain.sessions import SessionSegment
from tlh.services import sessions
from tlh.services.callhub import CallHub
from tlh.services.context import SYSTEM, Context
from tlh.services.events import OVERFLOW, EventBus, Subscription

log = logging.getLogger(__name__)

#: How long a room session may stay empty: a guest who drops and comes back keeps it.
GRACE_S = 300.0
#: How often the watched sessions are looked at.
INTERVAL_S = 30.0


class IdleSessions:
    """Watches open room sessions and closes those empty for ``grace_s``.

    ``in_call(segment_id)`` names the room entries let into a segment's call (the
    rooms' state); ``ended(segment)`` tells the rooms a segment was closed. ``sweep`` is
    public with its clock so tests move time by hand.
    """

    def __init__(
        self,
        ctx: Context,
        hub: CallHub,
        in_call: Callable[[str], list[str]],
        ended: Callable[[SessionSegment], Awaitable[None]],
        *,
        grace_s: float = GRACE_S,
        interval_s: float = INTERVAL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ctx, self.hub = ctx, hub
        self._in_call, self._ended = in_call, ended
        self.grace_s, self.interval_s = grace_s, interval_s
        self._clock = clock
        #: Watched segment ids -> since when (monotonic) nobody is in them; None: someone is.
        self._empty_since: dict[str, float | None] = {}
        self._tasks: list[asyncio.Task[None]] = []

    def watch(self, segment: SessionSegment) -> None:
        """Watch a segment if it is an open room session (not a ``tlh doctor`` test)."""
        if segment.appointment_id is None and segment.ended_at is None and not segment.self_test:
            self._empty_since.setdefault(segment.id, None)

    def watching(self) -> set[str]:
        """The ids of the segments watched now."""
        return set(self._empty_since)

    async def load(self) -> None:
        """Watch every open room session the store holds (at start-up: nobody is in any
        call after a restart, so each is closed unless someone comes back in time).
        Found by who leads them, through the index of open segments: a start-up reads
        none of the practice's ended sessions."""
        for member in await self.ctx.store.all(Staff):
            for found in await sessions.open_segments_of(self.ctx, member.id):
                self.watch(found)

    async def start(self, bus: EventBus) -> None:
        """Load the open room sessions, follow new ones, and sweep every ``interval_s``."""
        # Subscribed before loading: a session started in between is not missed.
        sub = bus.subscribe(maxsize=256)
        await self.load()
        loop = asyncio.get_running_loop()
        self._tasks = [
            loop.create_task(self._follow(sub), name="tlh-idle-sessions-follow"),
            loop.create_task(self._run(), name="tlh-idle-sessions-sweep"),
        ]

    async def close(self) -> None:
        """Stop following and sweeping (server shutdown)."""
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def sweep(self, now: float | None = None) -> list[str]:
        """Close the watched sessions empty for ``grace_s`` at ``now``; their ids."""
        now = self._clock() if now is None else now
        closed: list[str] = []
        for segment_id, since in list(self._empty_since.items()):
            segment = await sessions.find_segment(self.ctx, segment_id)
            if segment is None or segment.ended_at is not None:
                self._empty_since.pop(segment_id, None)  # ended by staff: not ours any more
                continue
            if self.hub.count(segment_id) or self._in_call(segment_id):
                self._empty_since[segment_id] = None
                continue
            if since is None:
                self._empty_since[segment_id] = now
                continue
            if now - since < self.grace_s:
                continue
            done = await sessions.close(self.ctx, SYSTEM, segment_id)
            self._empty_since.pop(segment_id, None)
            await self._ended(done)
            closed.append(segment_id)
        return closed

    async def _follow(self, sub: Subscription) -> None:
        try:
            while True:
                event = await sub.get()
                if event.type == OVERFLOW:
                    await self.load()  # a start may have been missed: look again
                elif event.type == "session.started":
                    found = await sessions.find_segment(self.ctx, str(event.data.get("session_id")))
                    if found is not None:
                        self.watch(found)
        finally:
            sub.close()

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval_s)
            try:
                await self.sweep()
            except Exception as exc:  # one failed sweep must not stop the next
                log.warning("closing empty room sessions: %s", type(exc).__name__)
