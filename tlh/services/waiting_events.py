"""What the waiting rooms tell staff: ``room.*`` events and the audit lines beside them.

Room events go to the staff who see the entry's room (``tlh.domain.audience.room``) and
carry the entry as ``GET /rooms`` shows it (``tlh.services.entry_views``), so dashboards
update a row without fetching every room.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import msgspec

from tlh.domain import audience
from tlh.domain.audience import Shown
from tlh.domain.rooms import Presence, RoomEntry
from tlh.services.context import Actor, Context
from tlh.services.entry_views import Positions, entry_views

#: Writes a change of an entry with its audit note (``RoomLedger.write``).
Keep = Callable[[Actor, str, RoomEntry], Awaitable[None]]


class RoomEvents:
    """Publishing room events (with the entry's view) and recording the changes (the
    entry kept in the store with the audit note, ``keep``)."""

    def __init__(self, ctx: Context, positions: Positions, keep: Keep) -> None:
        self.ctx, self._positions, self._keep = ctx, positions, keep
        #: Tells the other servers an entry of this one's changed (``RoomLink.changed``;
        #: ``None``: one server).
        self.announce: Callable[[RoomEntry], None] | None = None

    async def record(
        self,
        actor: Actor,
        action: str,
        event: str,
        entry: RoomEntry,
        *,
        moved_from: RoomEntry | None = None,
        **extra: Any,
    ) -> None:
        """A change staff hear of (``event``) and the store keeps, audited as ``action``."""
        if self.announce is not None:
            # Before the event: a dashboard on another server that hears it and asks for
            # the rooms finds the entry as the event shows it (one channel, in order).
            self.announce(entry)
        await self.publish(event, entry, moved_from=moved_from, **extra)
        await self._keep(actor, action, entry)

    async def publish(
        self, event: str, entry: RoomEntry, *, moved_from: RoomEntry | None = None, **extra: Any
    ) -> None:
        """A ``room.*`` event to the staff who see the entry's room, with its view; and,
        when it ``moved_from`` another room (a transfer, an admission from the shared
        queue), to those who saw it there, with ids only: their row goes."""
        data = {
            "entry_id": entry.id,
            "clinician_id": entry.clinician_id,
            "appointment_id": entry.appointment_id,
            **extra,
        }
        room = audience.room(entry.clinician_id)
        [view], client_ids = await entry_views(self.ctx, self._positions, [entry])
        if entry.clinician_id is None and view.location is not None:
            # The shared queue's events reach every clinician: where someone is waits
            # until they are in a room (``GET /rooms`` shows it to those it concerns).
            view = msgspec.structs.replace(view, location=None)
        shown = Shown(
            key="entry",
            value=msgspec.to_builtins(view),
            audience=room,
            client_ids=tuple(client_ids),
        )
        before = audience.room(moved_from.clinician_id) if moved_from else room
        self.ctx.events.publish(event, data, room | before, shown)

    def presence(self, clinician_id: str, presence: Presence) -> None:
        """The clinician's presence changed (their room's staff hear it)."""
        self.ctx.events.publish(
            "room.updated",
            {"clinician_id": clinician_id, "presence": presence.value},
            audience.room(clinician_id),
        )
