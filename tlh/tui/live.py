"""The dashboard's one long-running worker: the staff event stream, and a REST resync on
every (re)connection.

``EventStream`` (tlh.client.events) reconnects by itself; this keeps a
``DashboardState`` current from it. Each (re)connection fetches the whole state again
(some events may have been missed while away); after that, room events carry the
entry's view and update its row. Changes reach the screens through the state itself
(``on_change``); what only the app can act on is posted as a message (``messages``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING

from tlh.client.events import (
    Backoff,
    Connected,
    EventStream,
    Item,
    Reconnecting,
    SignedOut,
    StaffEvent,
    Superseded,
)
from tlh.errors import Forbidden, TlhError, Unauthenticated

from .first_look import Clock, load_day, utc_now
from .messages import EntryArrived, PolicyLoaded, StreamEnded
from .schedule_sync import ScheduleSync
from .state import Connection, DashboardState

if TYPE_CHECKING:
    from textual.message import Message

    from tlh.api.events import StaffEvent
    from tlh.client import TlhClient

Post = Callable[["Message"], object]


class LiveFeed:
    """Keeps a ``DashboardState`` current from the event stream; posts what happened."""

    def __init__(
        self,
        client: TlhClient,
        state: DashboardState,
        *,
        post: Post,
        now: Clock = utc_now,
        schedule: ScheduleSync | None = None,
    ) -> None:
        self.client = client
        self.state = state
        self.post = post
        self.now = now
        #: The Schedule's appointments, loaded on sync and kept current from events
        #: (the first look's, when there was one: it knows who is signed in).
        self.schedule = schedule or ScheduleSync(client, state, now)
        #: Set once the stream is live and the first full sync is done (tests wait on it).
        self.synced = asyncio.Event()
        #: Why the stream is down or ended (the CLI prints it when the app closes).
        self.failure: str | None = None
        #: Delays between reconnections, at most 1 s: with the resync, the screen is
        #: live again within 2 s of the server answering (a refused attempt costs nothing).
        self.backoff = Backoff(max_s=1.0)
        #: Failed attempts in a row (since the last connection).
        self.attempts = 0
        self._stream: EventStream | None = None

    def retry_now(self) -> None:
        """Reconnect now rather than at the end of the current wait (when down)."""
        if self._stream is not None:
            self._stream.retry_now()

    async def run(self) -> None:
        """Stream until superseded or signed out (the stream reconnects by itself)."""
        async with self.client.events(dashboard=True, backoff=self.backoff) as stream:
            self._stream = stream
            async for item in stream:
                try:
                    if await self._take(item):
                        return
                except (Unauthenticated, Forbidden) as exc:
                    self._stop(Connection.SIGNED_OUT, exc.message)
                    return
                except TlhError as exc:
                    # A REST call of the resync failed: like a dropped stream.
                    stream.drop(exc.message)

    async def _take(self, item: Item) -> bool:
        """Act on one item of the stream; True when the stream is over for good."""
        if isinstance(item, Connected):
            self.failure = None
            self.attempts = 0
            await self.resync()
            self.state.set_connection(Connection.LIVE)
            self.synced.set()
        elif isinstance(item, Reconnecting):
            self.failure = item.reason
            self.attempts = item.attempt
            self.synced.clear()
            note = f"{item.reason} — retrying in {item.retry_in:g} s"
            self.state.set_connection(Connection.RECONNECTING, note)
        elif isinstance(item, Superseded):
            self._stop(Connection.SUPERSEDED, "this dashboard was opened elsewhere")
            return True
        elif isinstance(item, SignedOut):
            self._stop(Connection.SIGNED_OUT, item.reason)
            return True
        elif item.type == "events.overflow":
            await self.resync()
        else:
            await self.handle(item)
        return False

    def _stop(self, connection: Connection, why: str) -> None:
        self.failure = why
        self.state.set_connection(connection)
        self.post(StreamEnded(connection, why))

    async def handle(self, event: StaffEvent) -> None:
        """Apply one event (a room event's row from the view it carries); the rooms are
        fetched again only when that view could not be read."""
        await self.schedule.follow(event.type, event.data)
        applied = self.state.apply(event)
        if applied.refresh_rooms:
            self.state.load_rooms(await self.client.rooms.list())
        if applied.arrival is not None:
            self.post(EntryArrived(applied.arrival, event))

    async def resync(self) -> None:
        """Fetch everything again: the policy, the rooms (the people screen first: that
        is what a clinician waits for), then the schedule and its eligibility."""
        policy = await self.client.practice.get()
        self.post(PolicyLoaded(policy))
        await load_day(self.client, self.state, self.schedule, policy)
