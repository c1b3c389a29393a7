"""The in-process event bus: staff websockets subscribe, services publish.

Each subscriber has a bounded queue, so one slow dashboard cannot grow the server's
memory; when it overflows, the subscriber is told it missed events and must resync.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from typing import Any

import msgspec

from tlh.services.context import utcnow


class Event(msgspec.Struct, frozen=True, kw_only=True):
    type: str
    at: datetime
    data: dict[str, Any]


#: Sent to a subscriber whose queue overflowed: it should reload its state.
OVERFLOW = "events.overflow"


class Subscription:
    """One subscriber's queue of events; iterate with ``await sub.get()``."""

    def __init__(self, bus: EventBus, maxsize: int) -> None:
        self._bus = bus
        self.queue: asyncio.Queue[Event] = asyncio.Queue(maxsize)
        self.overflowed = False

    def offer(self, event: Event) -> None:
        if self.overflowed:
            return
        try:
            self.queue.put_nowait(event)
        except asyncio.QueueFull:
            self.overflowed = True
            # Make room for the one event that tells the subscriber to resync.
            self.queue.get_nowait()
            self.queue.put_nowait(Event(type=OVERFLOW, at=event.at, data={}))

    async def get(self) -> Event:
        event = await self.queue.get()
        if event.type == OVERFLOW:
            self.overflowed = False
        return event

    def close(self) -> None:
        self._bus.unsubscribe(self)


class EventBus:
    """Fan-out of events to subscriptions; ``publish`` never blocks."""

    def __init__(self, clock: Callable[[], datetime] = utcnow) -> None:
        self._subs: set[Subscription] = set()
        self._clock = clock

    def subscribe(self, maxsize: int = 1000) -> Subscription:
        sub = Subscription(self, maxsize)
        self._subs.add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        self._subs.discard(sub)

    @property
    def subscribers(self) -> int:
        return len(self._subs)

    def publish(self, type: str, data: dict[str, Any]) -> None:
        event = Event(type=type, at=self._clock(), data=data)
        for sub in list(self._subs):
            sub.offer(event)
