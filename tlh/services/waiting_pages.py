"""The participants' pages: each live entry's socket, and what its page is told.

Status frames (state, place in line, expected wait, the clinician's presence), the staff
messages kept for a page that reconnects, and the window's opening time, all pushed
through each socket's ``Connection`` outbox so no caller waits for a socket.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from msgspec.structs import replace

from tlh.api.frames import StaffMessage, Status
from tlh.domain.live_records import KeptMessage
from tlh.domain.rooms import EntryState, RoomEntry
from tlh.services import sessions
from tlh.services.context import Context
from tlh.services.frame_outbox import Outbox
from tlh.services.waiting_state import RoomState
from tlh.services.waiting_view import Facts, average_visit, staff_name, status_frame

#: Staff messages kept per entry, replayed to a page that reconnects.
_KEPT_MESSAGES = 20


@dataclass(eq=False, slots=True)
class Connection:
    """One participant socket: its outbox, how to close it, and the entry it speaks for
    (set by the rooms; ``None`` before hello and after the entry ends)."""

    outbox: Outbox
    close: Callable[[], Awaitable[Any]]
    entry_id: str | None = None


class RoomPages:
    """Each live entry's socket, and the frames its page gets."""

    def __init__(self, ctx: Context, state: RoomState) -> None:
        self.ctx, self._state = ctx, state
        self._conns: dict[str, Connection] = {}
        self._messages: dict[str, list[StaffMessage]] = {}
        self._opens_at: dict[str, datetime] = {}
        #: Average visit minutes per clinician (``forget_visits`` when one ends).
        self._avg_visit: dict[str, float | None] = {}
        #: New arrivals whose page is not told its place yet (``until_told``).
        self._telling: dict[str, asyncio.Event] = {}

    # --- sockets -------------------------------------------------------------------------

    def connection(self, entry_id: str) -> Connection | None:
        """The entry's socket, while its page is connected."""
        return self._conns.get(entry_id)

    def attach(self, entry_id: str, conn: Connection) -> Connection | None:
        """The socket now speaks for the entry; returns the socket it superseded (a
        reload), which speaks for nobody any more."""
        old = self._conns.get(entry_id)
        self._conns[entry_id] = conn
        conn.entry_id = entry_id
        if old is None or old is conn:
            return None
        old.entry_id = None
        return old

    def detach(self, conn: Connection) -> str | None:
        """The socket closed: the id of the entry it still spoke for, else ``None`` (it
        spoke for nobody, or a newer socket replaced it)."""
        entry_id, conn.entry_id = conn.entry_id, None
        if entry_id is None or self._conns.get(entry_id) is not conn:
            return None
        del self._conns[entry_id]
        return entry_id

    async def farewell(
        self, entry: RoomEntry, status: str | None, reason: str | None = None
    ) -> None:
        """The entry ended: its page gets its final status (and ``reason``, why), and is
        forgotten."""
        conn = self._conns.pop(entry.id, None)
        self._messages.pop(entry.id, None)
        self._opens_at.pop(entry.id, None)
        if conn is not None:
            frame = await self._status_frame(entry, status)
            conn.outbox.push(replace(frame, reason=reason) if reason else frame)
            conn.entry_id = None

    # --- what pages are told -------------------------------------------------------------

    def opens_at(self, entry_id: str, when: datetime) -> None:
        """When the entry's link opens (said in its status until then)."""
        self._opens_at[entry_id] = when

    def push(self, entry_id: str, frame: StaffMessage) -> None:
        """A staff message: to the page now, and again should it reconnect."""
        kept = self._messages.setdefault(entry_id, [])
        kept.append(frame)
        del kept[:-_KEPT_MESSAGES]
        conn = self._conns.get(entry_id)
        if conn is not None:
            conn.outbox.push(frame)

    def kept(self, entry_id: str) -> list[StaffMessage]:
        """The messages kept for the entry's page (kept in the store with the entry)."""
        return self._messages.get(entry_id, [])

    def restore(self, entry_id: str, kept: Sequence[KeptMessage]) -> None:
        """The messages kept for an entry in the store (a restart, an adopted entry)."""
        if kept:
            said = [StaffMessage(text=m.text, at=m.at) for m in kept[-_KEPT_MESSAGES:]]
            self._messages[entry_id] = said

    def replay(self, entry_id: str) -> None:
        """The messages kept for the entry, to its (new) socket."""
        conn = self._conns.get(entry_id)
        if conn is not None:
            for message in self._messages.get(entry_id, []):
                conn.outbox.push(message)

    def telling(self, entry_id: str) -> None:
        """A new arrival's page is about to be told its place (``until_told`` waits)."""
        self._telling[entry_id] = asyncio.Event()

    def told(self, entry_id: str) -> None:
        """The arrival's page has been told (or its hello failed): admissions go on."""
        found = self._telling.pop(entry_id, None)
        if found is not None:
            found.set()

    async def until_told(self, entry_id: str) -> None:
        """Until a new arrival's page has been told its place (at once for any other)."""
        found = self._telling.get(entry_id)
        if found is not None:
            await found.wait()

    async def send_status(self, entry: RoomEntry) -> None:
        conn = self._conns.get(entry.id)
        if conn is not None:
            frame = await self._status_frame(entry)
            now = self._state.get(entry.id)
            if now is not None and now.state is not entry.state:
                return  # it moved on while the frame was made (a store read): told by that
            conn.outbox.push(frame)

    async def refresh(
        self, clinician_id: str | None, *, everyone: bool = False, from_place: int = 1
    ) -> None:
        """Connected waiting entries of a room get their new place (or, with
        ``everyone``, every live entry its status: presence changed); with ``from_place``
        only those at that place in line or behind it (an arrival moves back only them)."""
        live = self._state.live(clinician_id)
        if not any(e.id in self._conns for e in live):
            # No page of this room on this server (a change on another one, whose
            # replica came here): nothing to tell, so no store read for its facts.
            return
        facts = await self._room_facts(clinician_id)
        name = await self._clinician_name(clinician_id)
        places = facts[0]
        for entry in live:
            conn = self._conns.get(entry.id)
            if conn is None or (from_place > 1 and places.get(entry.id, 0) < from_place):
                continue
            if everyone or entry.state is EntryState.WAITING:
                conn.outbox.push(await self._status_frame(entry, facts=facts, name=name))

    def forget_visits(self, clinician_id: str) -> None:
        """A visit ended: the clinician's average visit is read again when next needed."""
        self._avg_visit.pop(clinician_id, None)

    async def _room_facts(self, clinician_id: str | None) -> Facts:
        """What every waiting entry's status needs, computed once per room."""
        busy = bool(clinician_id and await sessions.open_segments_of(self.ctx, clinician_id))
        return self._state.positions(clinician_id), await self._average_visit(clinician_id), busy

    async def _status_frame(
        self,
        entry: RoomEntry,
        state: str | None = None,
        facts: Facts | None = None,
        name: str | None = None,
    ) -> Status:
        """``facts`` and the clinician's ``name``, when a room's pages are told together,
        are read once for all of them (a read each on PostgreSQL)."""
        if facts is None and entry.state is EntryState.WAITING and state is None:
            facts = await self._room_facts(entry.clinician_id)
        if name is None:
            name = await self._clinician_name(entry.clinician_id)
        return status_frame(
            entry,
            clinician_name=name,
            presence=self._state.presence_of(entry.clinician_id),
            state=state,
            opens_at=self._opens_at.get(entry.id),
            facts=facts,
        )

    async def _clinician_name(self, clinician_id: str | None) -> str:
        """The name a waiting page shows for its room ("" for the shared queue)."""
        return await staff_name(self.ctx, clinician_id) if clinician_id else ""

    async def _average_visit(self, clinician_id: str | None) -> float | None:
        if clinician_id is None:
            return None
        if clinician_id not in self._avg_visit:
            self._avg_visit[clinician_id] = await average_visit(self.ctx, clinician_id)
        return self._avg_visit[clinician_id]
