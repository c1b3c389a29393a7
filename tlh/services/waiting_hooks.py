"""What the waiting rooms follow from elsewhere: sessions starting and ending, links
revoked (a cancel, a reschedule, an admin), and the server shutting down.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Collection

from tlh.domain import rooms as rules
from tlh.domain.links import JoinLink, invalid_reason
from tlh.domain.sessions import SessionSegment
from tlh.services.context import SYSTEM
from tlh.services.events import OVERFLOW, EventBus, Subscription
from tlh.services.links import LINK_REVOKED, appointment_of
from tlh.services.waiting_admission import Admission
from tlh.services.waiting_exits import Exits
from tlh.services.waiting_parts import RoomParts

# The name the rooms logged under before the split, so logging settings still apply.
log = logging.getLogger("tlh.services.waiting")


class RoomHooks:
    """Sessions started or ended by staff, revoked links, shutdown."""

    def __init__(self, parts: RoomParts, admission: Admission, exits: Exits) -> None:
        self.ctx, self.hub, self._state, self._pages, _ = parts
        self._admission, self._exits = admission, exits
        self._follower: asyncio.Task[None] | None = None

    async def session_started(self, segment: SessionSegment) -> None:
        """Auto-admit who is waiting for this session when the waiting room is off."""
        for entry in rules.in_line(self._state.live(segment.clinician_id)):
            if entry.appointment_id == segment.appointment_id:
                await self._admission.auto_admit(entry)

    async def session_ended(self, segment: SessionSegment) -> None:
        """Everyone in the ended segment's call is out (``ended``); waiting entries stay."""
        self.hub.end(segment.id)
        self._pages.forget_visits(segment.clinician_id)
        now = self.ctx.clock()
        for entry_id in self._state.own_in_call(segment.id):
            entry = self._state.get(entry_id)
            if entry is None:
                continue
            gone = rules.leave(entry, now)
            await self._exits.finish(
                gone, SYSTEM, "room.leave", "room.left", status="ended", reason="ended"
            )

    def follow(self, bus: EventBus) -> None:
        """End the entries of links revoked elsewhere (a cancel, a reschedule, an admin)."""
        # Subscribed here, not in the task, so no revoke published after this is missed.
        sub = bus.subscribe(maxsize=64)
        self._follower = asyncio.get_running_loop().create_task(self._follow(sub))

    async def _follow(self, sub: Subscription) -> None:
        try:
            while True:
                event = await sub.get()
                if event.type not in (LINK_REVOKED, OVERFLOW):
                    continue
                # Overflowed: a revoke may have been missed, so every revoked link counts.
                ids = event.data.get("ids") if event.type == LINK_REVOKED else None
                try:
                    await self.drop_revoked(set(ids) if isinstance(ids, list) else None)
                except Exception as exc:  # one failure must not stop the following
                    log.warning("waiting room: %s ending revoked links", type(exc).__name__)
        finally:
            sub.close()

    async def drop_revoked(self, link_ids: Collection[str] | None = None) -> int:
        """Send away everyone on a revoked link of ``link_ids`` (None: any revoked link);
        the page says so. Returns how many."""
        now, dropped = self.ctx.clock(), 0
        for entry in self._state.entries():
            if link_ids is not None and entry.link_id not in link_ids:
                continue
            link = await self.ctx.store.get(JoinLink, entry.link_id)
            if self._state.get(entry.id) is not entry or (
                link is not None and link.revoked_at is None
            ):
                continue  # gone meanwhile, or still good
            gone = rules.leave(entry, now)
            why = None
            if link is not None:
                why = invalid_reason(
                    link, await appointment_of(self.ctx, link), now, self.ctx.policy()
                )
            await self._exits.finish(
                gone,
                SYSTEM,
                "room.leave",
                "room.left",
                status="revoked",
                told=why,
                reason="link_revoked",
            )
            dropped += 1
        return dropped

    async def close(self) -> None:
        """Stop following revoked links (server shutdown)."""
        if self._follower is not None:
            self._follower.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._follower
