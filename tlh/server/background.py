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

    One server (the embedded store) always does: it rebuilds the rooms from the store at
    start. Of several on one database, one at a time does, under the ``tlh:rooms``
    singleton; the others stand by with ``/readyz`` 503, so the balancer sends every page,
    dashboard and call to the active one. When it dies, PostgreSQL drops its lock, a
    standby takes it, rebuilds the rooms from the store (entries, places, calls: what a
    restart keeps) and turns ready; the pages reconnect through the balancer within the
    reconnect grace and keep their places.

    A server that loses the lock (its database connection dropped) stops being ready at
    once. Taking it back, it carries on only if nobody held it meanwhile (the count of
    takes moved by one); otherwise its rooms are stale and it steps aside (``step_aside``:
    a clean stop, which tells its pages to reconnect; a supervisor restarts it as a
    standby).
    """

    def __init__(self, store_url: str | None, step_aside: Callable[[], None]) -> None:
        self.store_url = store_url
        self._take_over: Callable[[], Awaitable[object]] | None = None
        self._step_aside = step_aside
        self._singleton: Any = None
        self._took = False
        self._epoch = 0
        self.active = False

    async def start(self, take_over: Callable[[], Awaitable[object]]) -> None:
        """Serve the rooms now (one server), or once this server holds the lock;
        ``take_over`` rebuilds them from the store, once."""
        self._take_over = take_over
        if self.store_url is None:
            await take_over()
            self.active = True
            return
        from tlh.store.pg.singleton import Singleton

        self._singleton = Singleton(
            self.store_url, "tlh:rooms", self._lead, self._lost, count_takes=True
        )
        try:
            await self._singleton.open()
        except ConnectionError as exc:
            raise StoreError(str(exc)) from None

    async def _lead(self) -> None:
        epoch = self._singleton.epoch
        if not self._took:
            assert self._take_over is not None
            self._took = True
            await self._take_over()
        elif epoch != self._epoch + 1:
            log.warning("another server served the rooms meanwhile: this one steps aside")
            self._step_aside()
            return
        self._epoch = epoch
        self.active = True
        log.info("this server serves the rooms")

    async def _lost(self) -> None:
        self.active = False

    async def close(self) -> None:
        self.active = False
        if self._singleton is not None:
            await self._singleton.close()


#: What only the server holding the rooms may answer: the rooms, the pages' and call
#: pages' sockets, and the staff event stream (whose room events it makes).
ROOM_PATHS = ("/api/v1/rooms", "/api/v1/link/ws", "/api/v1/call/ws", "/api/v1/events")


def stands_by(active: Active, path: str) -> bool:
    """Whether a request for ``path`` must go to the server holding the rooms instead
    (this one stands by: the balancer will send it there once it knows)."""
    return not active.active and path.startswith(ROOM_PATHS)
