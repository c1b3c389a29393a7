"""The live waiting rooms' state, and how changes reach pages and staff.

Kept in memory (a restart empties the rooms; the session segments in the store keep the
history). This base holds every room's entries, sockets and calls in one place, so the
participant's side, the staff's side and the hooks (mixins composed into
``tlh.services.waiting.Rooms``) act on the same state. Here too: the status frames and
messages pushed to pages through ``Connection`` outboxes, the ``room.*`` events (ids
only) with their audit lines, and the end of an entry (``_finish``, the grace expiry).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from tlh.api.frames import StaffMessage, Status
from tlh.domain import rooms as rules
from tlh.domain.rooms import ConnectionTest, EntryState, Presence, RoomEntry
from tlh.errors import NotFound
from tlh.services import sessions
from tlh.services.callhub import CallHub, Outbox
from tlh.services.context import SYSTEM, Actor, Context
from tlh.services.waiting_timers import Expiries, Timer
from tlh.services.waiting_view import Facts, average_visit, staff_name, status_frame

IN_CALL = (EntryState.ADMITTED, EntryState.IN_SESSION)
_KEPT_MESSAGES = 20


@dataclass(eq=False, slots=True)
class Connection:
    """One participant socket: its outbox, how to close it, and the entry it speaks for
    (set by ``Rooms``; ``None`` before hello and after the entry ends)."""

    outbox: Outbox
    close: Callable[[], Awaitable[Any]]
    entry_id: str | None = None


class RoomsCore:
    """Every clinician's room and the practice's shared queue (``clinician_id=None``):
    the state, reading it, and telling pages and staff what changed."""

    def __init__(
        self,
        ctx: Context,
        hub: CallHub,
        *,
        grace_s: float = 60.0,
        ice_servers: tuple[dict[str, Any], ...] = (),
        timer: Timer | None = None,
    ) -> None:
        self.ctx, self.hub, self.grace_s = ctx, hub, grace_s
        self.ice_servers = [dict(s) for s in ice_servers]
        self._expiries = Expiries(timer)
        self._entries: dict[str, RoomEntry] = {}
        self._conns: dict[str, Connection] = {}
        self._segment_of: dict[str, str] = {}
        self._presence: dict[str, Presence] = {}
        self._messages: dict[str, list[StaffMessage]] = {}
        self._opens_at: dict[str, Any] = {}
        self._avg_visit: dict[str, float | None] = {}
        self._tests: dict[tuple[str, str], ConnectionTest] = {}
        self._follower: asyncio.Task[None] | None = None  # see waiting_hooks

    # --- reading -------------------------------------------------------------------------

    def get(self, entry_id: str) -> RoomEntry | None:
        return self._entries.get(entry_id)

    def entry(self, entry_id: str) -> RoomEntry:
        found = self._entries.get(entry_id)
        if found is None:
            raise NotFound(f"no live room entry {entry_id}")
        return found

    def live(self, clinician_id: str | None) -> list[RoomEntry]:
        """A room's live entries (``None``: the shared queue), oldest first."""
        found = [e for e in self._entries.values() if e.clinician_id == clinician_id]
        return sorted(found, key=lambda e: e.arrived_at)

    def clients_in(self, clinician_id: str) -> set[str]:
        """Ids of the clients with a live entry in a clinician's room (for scope)."""
        return {e.client_id for e in self.live(clinician_id) if e.client_id is not None}

    def rooms_with_entries(self) -> set[str]:
        return {e.clinician_id for e in self._entries.values() if e.clinician_id}

    def positions(self, clinician_id: str | None) -> dict[str, int]:
        """Places in line of one room's waiting entries, by entry id."""
        return rules.positions(self.live(clinician_id))

    def presence_of(self, clinician_id: str | None) -> Presence:
        if clinician_id is None:
            return Presence.ONLINE
        return self._presence.get(clinician_id, Presence.ONLINE)

    def segment_of(self, entry_id: str) -> str | None:
        return self._segment_of.get(entry_id)

    # --- telling pages and staff ----------------------------------------------------------

    async def _finish(
        self,
        entry: RoomEntry,
        actor: Actor,
        action: str,
        event: str,
        *,
        status: str | None = None,
        **extra: Any,
    ) -> None:
        """A final state: out of the call, the page told, the entry forgotten."""
        now = self.ctx.clock()
        segment_id = self._segment_of.pop(entry.id, None)
        conn = self._conns.pop(entry.id, None)
        if segment_id is not None:
            self.hub.leave(segment_id, entry.id)
        self._entries.pop(entry.id, None)
        self._expiries.cancel(entry.id)
        self._messages.pop(entry.id, None)
        self._opens_at.pop(entry.id, None)
        if conn is not None:
            conn.outbox.push(self._status_frame(entry, status))
            conn.entry_id = None
        await self._record(actor, action, event, entry, **extra)
        if segment_id is not None:
            await sessions.left(self.ctx, segment_id, entry.id, now)
        self._refresh(entry.clinician_id)

    def _attach(self, entry: RoomEntry, conn: Connection) -> None:
        old = self._conns.get(entry.id)
        if old is not None and old is not conn:
            old.entry_id = None
            segment_id = self._segment_of.get(entry.id)
            if segment_id is not None:
                self.hub.leave(segment_id, entry.id, old.outbox.push)
            old.outbox.finish(old.close)  # a reload superseded that socket
        self._conns[entry.id] = conn
        conn.entry_id = entry.id

    def _push(self, entry_id: str, frame: StaffMessage) -> None:
        kept = self._messages.setdefault(entry_id, [])
        kept.append(frame)
        del kept[:-_KEPT_MESSAGES]
        conn = self._conns.get(entry_id)
        if conn is not None:
            conn.outbox.push(frame)

    def _room_facts(self, clinician_id: str | None) -> Facts:
        """What every waiting entry's status needs, computed once per room."""
        line = rules.in_line(self.live(clinician_id))
        busy = bool(clinician_id and sessions.open_segments_of(self.ctx, clinician_id))
        return (
            {e.id: n for n, e in enumerate(line, start=1)},
            self._average_visit(clinician_id),
            busy,
        )

    def _status_frame(
        self, entry: RoomEntry, state: str | None = None, facts: Facts | None = None
    ) -> Status:
        if facts is None and entry.state is EntryState.WAITING and state is None:
            facts = self._room_facts(entry.clinician_id)
        name = staff_name(self.ctx, entry.clinician_id) if entry.clinician_id else ""
        return status_frame(
            entry,
            clinician_name=name,
            presence=self.presence_of(entry.clinician_id),
            state=state,
            opens_at=self._opens_at.get(entry.id),
            facts=facts,
        )

    def _send_status(self, entry: RoomEntry) -> None:
        conn = self._conns.get(entry.id)
        if conn is not None:
            conn.outbox.push(self._status_frame(entry))

    def _refresh(self, clinician_id: str | None, *, everyone: bool = False) -> None:
        """Connected waiting entries of a room get their new place (or, with
        ``everyone``, every live entry its status: presence changed)."""
        facts = self._room_facts(clinician_id)
        for entry in self.live(clinician_id):
            conn = self._conns.get(entry.id)
            if conn is not None and (everyone or entry.state is EntryState.WAITING):
                conn.outbox.push(self._status_frame(entry, facts=facts))

    def _average_visit(self, clinician_id: str | None) -> float | None:
        if clinician_id is None:
            return None
        if clinician_id not in self._avg_visit:
            self._avg_visit[clinician_id] = average_visit(self.ctx, clinician_id)
        return self._avg_visit[clinician_id]

    async def _record(
        self, actor: Actor, action: str, event: str, entry: RoomEntry, **extra: Any
    ) -> None:
        self._publish(event, entry, **extra)
        await self.ctx.audit.append(actor, action, entry.id)

    def _publish(self, event: str, entry: RoomEntry, **extra: Any) -> None:
        data = {
            "entry_id": entry.id,
            "clinician_id": entry.clinician_id,
            "appointment_id": entry.appointment_id,
            **extra,
        }
        self.ctx.events.publish(event, data)

    # --- expiry ---------------------------------------------------------------------------

    async def _expire_due(self, entry_id: str) -> None:
        entry = self._entries.get(entry_id)
        if entry is None or entry.online or entry.disconnected_at is None:
            return
        now = self.ctx.clock()
        if not rules.is_expired(entry, now, self.grace_s):
            left = self.grace_s - (now - entry.disconnected_at).total_seconds()
            self._expiries.schedule(entry_id, max(left, 0.01), partial(self._expire_due, entry_id))
            return
        gone = rules.expire(entry, now)
        await self._finish(gone, SYSTEM, "room.expire", "room.left", reason="expired")
