"""The in-process event bus: staff websockets subscribe, services publish.

Each event names its audience (``tlh.domain.audience``) and a staff subscription its
viewer, so a staff member is handed only the events meant for them. Server-side
followers (the rooms, the outbox worker, hooks) subscribe without a viewer and get
every event; they read only its ids (``data``), never what it shows staff (``shown``).

Each subscriber has a bounded queue, so one slow dashboard cannot grow the server's
memory; when it overflows, the subscriber is told it missed events and must resync.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from typing import Any

import msgspec

from tlh.domain.audience import EVERYONE, Audience, Shown, Viewer
from tlh.services.context import utcnow


class Event(msgspec.Struct, frozen=True, kw_only=True):
    type: str
    at: datetime
    #: Ids and states only: what every receiver gets.
    data: dict[str, Any]
    audience: Audience = EVERYONE
    #: Beyond ids, for part of the audience (a room entry's view, with a name).
    shown: Shown | None = None
    #: The frame as sent, by whether it shows ``shown``: encoded once for every socket
    #: that gets it, not once per socket (``wire``).
    frames: dict[bool, str] = msgspec.field(default_factory=dict)
    #: Published on another server and received through the shared bus
    #: (``tlh.services.shared_events``); never sent on again.
    remote: bool = False

    def seen_by(self, viewer: Viewer) -> tuple[dict[str, Any], tuple[str, ...]]:
        """The data as ``viewer`` receives it, and the clients that delivery reads
        (the caller audits them before sending)."""
        shown = self.shown
        if shown is None or not shown.audience.admits(viewer):
            return self.data, ()
        return {**self.data, shown.key: shown.value}, shown.client_ids

    def wire(self, viewer: Viewer) -> tuple[str, tuple[str, ...]]:
        """The staff frame (JSON text) ``viewer`` receives, and the clients it reads."""
        full = self.shown is not None and self.shown.audience.admits(viewer)
        data, reads = self.seen_by(viewer)
        text = self.frames.get(full)
        if text is None:
            text = self.frames[full] = _encoder.encode(
                {"type": self.type, "at": self.at, "data": data}
            ).decode()
        return text, reads


_encoder = msgspec.json.Encoder()

#: Sent to a subscriber whose queue overflowed: it should reload its state.
OVERFLOW = "events.overflow"


class Subscription:
    """One subscriber's queue of events; iterate with ``await sub.get()``."""

    def __init__(
        self,
        bus: EventBus,
        maxsize: int,
        viewer: Viewer | None = None,
        *,
        local_only: bool = False,
    ) -> None:
        self._bus = bus
        #: The staff member subscribed; ``None``: a server-side follower (every event).
        self.viewer = viewer
        #: Only the events published on this server (what must happen once per event,
        #: where it happened: the hooks), not those other servers sent.
        self.local_only = local_only
        self.queue: asyncio.Queue[Event] = asyncio.Queue(maxsize)
        self.overflowed = False

    def wants(self, event: Event) -> bool:
        """Whether this subscriber is in the event's audience."""
        if event.remote and self.local_only:
            return False
        return self.viewer is None or event.audience.admits(self.viewer)

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

    def missed(self, at: datetime) -> None:
        """Tell the subscriber events may have been lost elsewhere (another server's
        did not arrive): it resyncs as after an overflow."""
        if self.overflowed:
            return
        self.overflowed = True
        if self.queue.full():
            self.queue.get_nowait()
        self.queue.put_nowait(Event(type=OVERFLOW, at=at, data={}))

    async def get(self) -> Event:
        event = await self.queue.get()
        if event.type == OVERFLOW:
            self.overflowed = False
        return event

    async def get_many(self) -> list[Event]:
        """Every queued event, waiting for one if none is: a sender handles a burst in
        one go (one audit write for all it shows, not one per event)."""
        events = [await self.queue.get()]
        while not self.queue.empty():
            events.append(self.queue.get_nowait())
        if any(e.type == OVERFLOW for e in events):
            self.overflowed = False
        return events

    def close(self) -> None:
        self._bus.unsubscribe(self)


class EventBus:
    """Fan-out of events to subscriptions; ``publish`` never blocks."""

    def __init__(self, clock: Callable[[], datetime] = utcnow) -> None:
        self._subs: set[Subscription] = set()
        self._clock = clock

    def subscribe(
        self, maxsize: int = 1000, viewer: Viewer | None = None, *, local_only: bool = False
    ) -> Subscription:
        """A queue of the events ``viewer`` may receive (all of them without one);
        ``local_only``: not those another server published (``SharedEventBus``)."""
        sub = Subscription(self, maxsize, viewer, local_only=local_only)
        self._subs.add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        self._subs.discard(sub)

    @property
    def subscribers(self) -> int:
        return len(self._subs)

    def publish(
        self, type: str, data: dict[str, Any], audience: Audience, shown: Shown | None = None
    ) -> None:
        """Hand the event to every subscriber in ``audience`` (and to server-side ones)."""
        self.deliver(Event(type=type, at=self._clock(), data=data, audience=audience, shown=shown))

    def deliver(self, event: Event) -> None:
        """Hand an event already made to the subscribers that want it."""
        for sub in list(self._subs):
            if sub.wants(event):
                sub.offer(event)
