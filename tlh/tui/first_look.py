"""The dashboard's first look: the day, fetched while the dashboard's code still loads,
so that its first frame shows the day instead of an empty skeleton.

``tlh dashboard`` starts it before importing Textual (a few hundred milliseconds of
imports, done on a thread meanwhile: the fetch mostly waits on the server). The app
holds its first frame for it, at most ``HOLD_S``; one not done by then is cancelled
and the frame shows what there is, the rest following as the event stream brings it.
The first look is a snapshot: the stream's own sync on connecting fetches everything
again (changes made in between are not missed) and checks the rest of the day's
sessions. Nothing here imports Textual.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from tlh.errors import TlhError

from .schedule_sync import ScheduleSync
from .state import DashboardState
from .state_views import NEXT_SHOWN

if TYPE_CHECKING:
    from tlh.client import TlhClient
    from tlh.domain.models import Policy

#: The longest the first frame waits for the first look (seconds).
HOLD_S = 1.0

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """The current time (aware, UTC): the dashboard's default clock."""
    return datetime.now(UTC)


async def load_day(
    client: TlhClient,
    state: DashboardState,
    schedule: ScheduleSync,
    policy: Policy,
    *,
    first: int | None = None,
) -> None:
    """Everything but the policy (already read): the rooms (the People screen first:
    that is what a clinician waits for), then the schedule and whether its sessions
    can start (``first``: only those the People screen lists), then, for an admin,
    the staff's names."""
    state.set_policy(policy)
    state.load_rooms(await client.rooms.list())
    await schedule.load(first=first)
    if state.every_room:  # an admin's People screen names each room
        state.load_staff({s.id: s.name for s in await client.staff.list()})


class FirstLook:
    """The day fetched into a fresh ``DashboardState`` as soon as this is made (on a
    running event loop); ``wait`` for it before the first frame."""

    def __init__(self, client: TlhClient, *, now: Clock = utc_now, hold_s: float = HOLD_S) -> None:
        self.state = DashboardState()
        #: Who is signed in, once read: the live feed's schedule goes on from here.
        self.schedule = ScheduleSync(client, self.state, now)
        self.hold_s = hold_s
        self._client = client
        self._task = asyncio.create_task(self._fetch(), name="first look")

    async def _fetch(self) -> None:
        policy = await self._client.practice.get()
        await load_day(self._client, self.state, self.schedule, policy, first=NEXT_SHOWN)

    async def wait(self) -> bool:
        """Wait for the day, at most ``hold_s``; whether it is all there. Any failure
        (the server down, a revoked token) is left to the event stream to report."""
        done, _ = await asyncio.wait({self._task}, timeout=self.hold_s)
        if not done:
            self.cancel()
            await asyncio.wait({self._task})
            return False
        if self._task.cancelled():
            return False
        failed = self._task.exception()
        if failed is not None and not isinstance(failed, TlhError):
            raise failed
        return failed is None

    def cancel(self) -> None:
        """Stop fetching (the dashboard closes before its first frame)."""
        self._task.cancel()
