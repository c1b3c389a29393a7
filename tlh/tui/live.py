"""The dashboard's one long-running worker: REST snapshot, then the staff event stream.

On every (re)connection the whole state is fetched again (some events may have been
missed while away); after that, room events carry the entry's view and update its row.
A dropped stream shows "reconnecting" and is retried with a doubling backoff. A newer
dashboard of the same user, or a revoked token, stops the worker for good.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from tlh.client.events import Connected, Item, Reconnecting, SignedOut, Superseded
from tlh.domain.models import DashboardUnlock
from tlh.errors import Forbidden, TlhError, Unauthenticated

from .schedule_sync import ScheduleSync
from .state import Connection, DashboardState

if TYPE_CHECKING:
    from tlh.client import TlhClient
    from tlh.client.rooms import StaffEvent

Changed = Callable[[], None]
Arrived = Callable[[str, "StaffEvent"], None]
Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """The current time (aware, UTC): the default clock."""
    return datetime.now(UTC)


class LiveFeed:
    """Keeps a ``DashboardState`` current; calls ``changed`` after every update."""

    def __init__(
        self,
        client: TlhClient,
        state: DashboardState,
        *,
        changed: Changed,
        arrived: Arrived,
        now: Clock = utc_now,
    ) -> None:
        self.client = client
        self.state = state
        self.changed = changed
        self.arrived = arrived
        self.now = now
        self.zone = "UTC"
        #: The Schedule's appointments, loaded on sync and kept current from events.
        self.schedule = ScheduleSync(client, state, now, lambda: self.zone, changed)
        self.idle_logoff_min = 15
        self.dashboard_unlock = DashboardUnlock.KEY
        #: Set once the stream is live and the first full sync is done (tests wait on it).
        self.synced = asyncio.Event()
        self.failure: str | None = None

    async def run(self) -> None:
        """Stream until superseded or signed out; the stream reconnects by itself."""
        async with self.client.events(dashboard=True) as stream:
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
            await self.resync()
            self.state.set_connection(Connection.LIVE)
            self.changed()
            self.synced.set()
        elif isinstance(item, Reconnecting):
            self.failure = item.reason
            self.synced.clear()
            self.state.set_connection(
                Connection.RECONNECTING, f"{item.reason} — retrying in {item.retry_in:g} s"
            )
            self.changed()
        elif isinstance(item, Superseded):
            self._stop(Connection.SUPERSEDED, "this dashboard was opened elsewhere")
            return True
        elif isinstance(item, SignedOut):
            self._stop(Connection.SIGNED_OUT, item.reason)
            return True
        elif item.type == "events.overflow":
            await self.resync()
            self.changed()
        else:
            await self.handle(item)
        return False

    def _stop(self, connection: Connection, why: str) -> None:
        self.failure = why
        self.state.set_connection(connection)
        self.changed()

    async def handle(self, event: StaffEvent) -> None:
        """Apply one event (a room event's row from the view it carries); the rooms are
        fetched again only when that view could not be read."""
        await self.schedule.follow(event.type, event.data)
        applied = self.state.apply(event)
        if applied.refresh_rooms:
            self.state.load_rooms(await self.client.rooms())
        if applied.arrival is not None:
            self.arrived(applied.arrival, event)
        self.changed()

    async def resync(self) -> None:
        """Fetch everything again: rooms and today's schedule, then eligibility."""
        policy = await self.client.practice()
        self.zone = policy.timezone
        self.idle_logoff_min = policy.idle_logoff_min
        self.dashboard_unlock = policy.dashboard_unlock
        self.state.load_rooms(await self.client.rooms())
        self.changed()  # the people screen first: that is what a clinician waits for
        await self.refresh_schedule()

    async def refresh_schedule(self) -> None:
        """Today's and the next days' appointments, names, then today's eligibility."""
        await self.schedule.load()
