"""The live waiting rooms: who is waiting, their sockets, admission into the call.

Kept in memory (a restart empties the rooms; the session segments in the store keep the
history). The rules are ``tlh.domain.rooms``; the collaborators here apply them, talk to
the sockets through ``Connection`` outboxes, publish ``room.*`` events and audit every
change. Admission is check-and-set with no ``await`` in between, so two staff clicking
"admit" at once get one admission and one ``already_admitted``.

``Rooms`` only composes them, one per concept, each given what it needs:

- ``state`` (``RoomState``): the entries, the call each is in, presence; plain data;
- ``RoomPages``: each entry's socket and what its page is told;
- ``RoomEvents``: the ``room.*`` events and their audit lines;
- ``Exits``: how an entry ends, and the grace period of a dropped socket;
- ``Admission``: letting an entry into its session's call;
- ``participants`` (``ParticipantSide``): what a page's socket asks for;
- ``staff`` (``StaffSide``): what staff do in a room;
- ``hooks`` (``RoomHooks``): sessions starting and ending, links revoked elsewhere.
"""

from __future__ import annotations

from typing import Any

from tlh.services.callhub import CallHub
from tlh.services.context import Context
from tlh.services.events import EventBus
from tlh.services.waiting_admission import Admission
from tlh.services.waiting_events import RoomEvents
from tlh.services.waiting_exits import Exits
from tlh.services.waiting_hooks import RoomHooks
from tlh.services.waiting_pages import Connection, RoomPages
from tlh.services.waiting_participant import NotAdmitted, ParticipantSide
from tlh.services.waiting_parts import RoomParts
from tlh.services.waiting_staff import NobodyWaiting, StaffSide
from tlh.services.waiting_state import RoomState
from tlh.services.waiting_timers import Timer
from tlh.services.waiting_view import clean_display_name

__all__ = ["Connection", "NobodyWaiting", "NotAdmitted", "Rooms", "clean_display_name"]


class Rooms:
    """Every clinician's room and the practice's shared queue (``clinician_id=None``)."""

    def __init__(
        self,
        ctx: Context,
        hub: CallHub,
        *,
        grace_s: float = 60.0,
        ice_servers: tuple[dict[str, Any], ...] = (),
        timer: Timer | None = None,
    ) -> None:
        state = self.state = RoomState()
        parts = RoomParts(ctx, hub, state, RoomPages(ctx, state), RoomEvents(ctx, state.positions))
        admission = Admission(parts, ice_servers)
        exits = self._exits = Exits(parts, grace_s, timer)
        self.participants = ParticipantSide(parts, admission, exits)
        self.staff = StaffSide(parts, admission, exits)
        self.hooks = RoomHooks(parts, admission, exits)

    def follow(self, bus: EventBus) -> None:
        """End the entries of links revoked elsewhere (a cancel, a reschedule, an admin)."""
        self.hooks.follow(bus)

    async def close(self) -> None:
        """Stop following, cancel timers and pending expiries (server shutdown)."""
        await self.hooks.close()
        await self._exits.close()
