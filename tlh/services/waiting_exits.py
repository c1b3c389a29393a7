"""How a waiting-room entry ends: a final state (left, denied, expired, ended, revoked),
and the grace period that keeps its place while its socket is away.

The grace timers are owned here (``Expiries``): cancelled when the page comes back, and
cancelled and awaited on ``close``.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from tlh.domain import rooms as rules
from tlh.domain.rooms import RoomEntry
from tlh.services import sessions
from tlh.services.context import SYSTEM, Actor
from tlh.services.waiting_parts import RoomParts
from tlh.services.waiting_timers import Expiries, Timer


class Exits:
    """Ending entries, now (``finish``) or after the grace period (``hold_place``)."""

    def __init__(self, parts: RoomParts, grace_s: float, timer: Timer | None = None) -> None:
        self.ctx, self.hub, self._state, self._pages, self._events = parts
        #: Seconds an entry whose socket dropped keeps its place.
        self.grace_s = grace_s
        self._expiries = Expiries(timer)

    async def finish(
        self,
        entry: RoomEntry,
        actor: Actor,
        action: str,
        event: str,
        *,
        status: str | None = None,
        told: str | None = None,
        **extra: Any,
    ) -> None:
        """A final state: out of the call, the page told (``status``, and ``told``: why),
        the entry forgotten."""
        now = self.ctx.clock()
        segment_id = self._state.leave_call(entry.id)
        if segment_id is not None:
            self.hub.leave(segment_id, entry.id)
        self._state.forget(entry.id)
        self._expiries.cancel(entry.id)
        await self._pages.farewell(entry, status, told)
        await self._events.record(actor, action, event, entry, **extra)
        if segment_id is not None:
            await sessions.left(self.ctx, segment_id, entry.id, now)
        await self._pages.refresh(entry.clinician_id)

    def hold_place(self, entry_id: str) -> None:
        """The entry's socket went away: it expires unless back within the grace period."""
        self._expiries.schedule(entry_id, self.grace_s, partial(self._expire_due, entry_id))

    def back(self, entry_id: str) -> None:
        """The entry's page is back: it keeps its place."""
        self._expiries.cancel(entry_id)

    async def close(self) -> None:
        """Cancel pending expiries, and await those under way (server shutdown)."""
        await self._expiries.close()

    async def _expire_due(self, entry_id: str) -> None:
        entry = self._state.get(entry_id)
        if entry is None or entry.online or entry.disconnected_at is None:
            return
        if self._state.owner_of(entry_id) is not None:
            return  # its page went to another server, which owns it and its grace now
        now = self.ctx.clock()
        if not rules.is_expired(entry, now, self.grace_s):
            left = rules.grace_left(entry, now, self.grace_s)
            self._expiries.schedule(entry_id, max(left, 0.01), partial(self._expire_due, entry_id))
            return
        gone = rules.expire(entry, now)
        await self.finish(gone, SYSTEM, "room.expire", "room.left", reason="expired")
