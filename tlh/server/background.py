"""The server's background jobs — the outbox worker and the reminder clock — and, when
several servers share a PostgreSQL store, what ties them together.

One server (the embedded store) runs both jobs itself, as always. Several servers on one
database (``--store postgresql://…``) each have a ``SharedEventBus`` over a ``PgChannel``
(an event published on one reaches the staff sockets of all), and run each job once,
wherever its ``Singleton`` holds the advisory lock: a server that dies hands it to
another within seconds. A policy another server changed is reloaded from the database
when its ``practice.updated`` event arrives.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from tlh.errors import StoreError
from tlh.services.events import EventBus
from tlh.services.outbox import OutboxWorker
from tlh.services.reminder_clock import ReminderClock
from tlh.services.server_watch import ServerWatch

log = logging.getLogger(__name__)


class _Job(Protocol):
    async def start(self) -> None: ...

    async def close(self) -> None: ...


class Background:
    """Starts and stops the outbox worker and the reminder clock; on a shared store,
    each under its singleton."""

    def __init__(
        self,
        make_worker: Callable[[], OutboxWorker],
        clock: ReminderClock,
        bus: EventBus,
        *,
        store_url: str | None = None,
        on_policy_changed: Callable[[], None] | None = None,
    ) -> None:
        self._make_worker = make_worker
        #: The outbox worker (a new one each time this server takes the job over: a
        #: closed worker has closed its transports).
        self.worker = make_worker()
        self.clock = clock
        self.bus = bus
        self.store_url = store_url
        self._on_policy_changed = on_policy_changed
        self._singletons: list[Any] = []
        self._follower: asyncio.Task[None] | None = None

    @property
    def shared(self) -> bool:
        return self.store_url is not None

    @property
    def alive(self) -> bool:
        """``/readyz``: the sender runs here, or (a shared store) this server stands by to
        take it over (its singleton is connected)."""
        if not self.shared:
            return self.worker.alive
        outbox = self._singletons[0] if self._singletons else None
        if outbox is None:
            return False
        return bool(self.worker.alive if outbox.is_leader else outbox.connected)

    async def start(self) -> None:
        if self.store_url is None:
            await self.worker.start()
            await self.clock.start()
            return
        from tlh.store.pg.singleton import Singleton

        started = False

        async def start_outbox() -> None:
            nonlocal started
            if started:  # taken over again: the last worker closed its transports
                self.worker = self._make_worker()
            started = True
            await self.worker.start()

        self._singletons = [
            Singleton(self.store_url, "tlh:outbox", start_outbox, self.worker_close),
            Singleton(self.store_url, "tlh:reminders", self.clock.start, self.clock.close),
        ]
        for one in self._singletons:
            try:
                await one.open()
            except ConnectionError as exc:
                raise StoreError(str(exc)) from None
        if self._on_policy_changed is not None:
            self._follower = asyncio.create_task(self._follow(), name="tlh-policy-follower")

    async def worker_close(self) -> None:
        await self.worker.close()

    async def close(self) -> None:
        if self._follower is not None:
            self._follower.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._follower
        if not self.shared:
            await self.clock.close()
            await self.worker.close()
            return
        for one in reversed(self._singletons):
            await one.close()

    async def _follow(self) -> None:
        """Reload the policy when another server changed it (or events were missed)."""
        assert self._on_policy_changed is not None
        sub = self.bus.subscribe(maxsize=100)
        try:
            while True:
                event = await sub.get()
                if event.remote and event.type == "practice.updated":
                    self._on_policy_changed()
                elif event.type == "events.overflow":
                    self._on_policy_changed()  # a missed change is reloaded too
        finally:
            sub.close()


class Active:
    """Whether this server serves the practice's live rooms now.

    One server (the embedded store) does once it has rebuilt the rooms from the store.
    Several on one database all do at once: each owns the entries whose pages' sockets
    are on it and holds the others' as replicas (``tlh.services.room_link``), so a
    clinician on one server admits a client waiting on another. Each is alive as its own
    id (``ServerWatch.hold``, an advisory lock); when one dies, exactly one other takes
    its entries over and its pages reconnect through the balancer, keeping their places.

    A server cut off from the database stops being ready at once (``/readyz`` 503: the
    balancer cuts its sockets and sends its pages elsewhere). Back with nobody having
    taken its id in between, it carries on; if another took its entries over (``lost``),
    its rooms are stale and it steps aside (``step_aside``: a clean stop, which tells its
    pages to reconnect; a supervisor restarts it).
    """

    def __init__(self, step_aside: Callable[[], None]) -> None:
        self._step_aside = step_aside
        self._watch: ServerWatch | None = None
        self._started = False

    @property
    def active(self) -> bool:
        return self._started and (self._watch is None or self._watch.held)

    async def start(
        self, take_over: Callable[[], Awaitable[object]], watch: ServerWatch | None = None
    ) -> None:
        """Rebuild the rooms (``take_over``: from the store, then, on a shared store,
        alive as this server's id under ``watch``) and serve them."""
        self._watch = watch
        await take_over()
        self._started = True

    async def lost(self) -> None:
        """Another server took this one's entries over while it was cut off: step aside."""
        log.warning("another server took this one's waiting rooms over: it steps aside")
        self._started = False
        self._step_aside()

    async def close(self) -> None:
        self._started = False


#: What only a server serving the rooms may answer: the rooms, the pages' and call
#: pages' sockets, and the staff event stream (whose room events it makes).
ROOM_PATHS = ("/api/v1/rooms", "/api/v1/link/ws", "/api/v1/call/ws", "/api/v1/events")


def stands_by(active: Active, path: str) -> bool:
    """Whether a request for ``path`` must go to another server (this one is not serving
    the rooms now: starting, or cut off from the database; the balancer knows soon)."""
    return not active.active and path.startswith(ROOM_PATHS)
