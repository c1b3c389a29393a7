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
from collections.abc import Callable
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
