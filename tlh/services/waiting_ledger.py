"""The waiting rooms' entries kept in the store (``room_entries``), so a restart loses
nobody: each change staff or a page make is one store commit carrying its audit note.

What is written is what must survive (``RoomRecord``): the entry's state, place (arrival,
return), device check, connection verdict, replies, the call it is in and the messages
kept for its page. Presence blips (a socket dropping and coming back) change none of it:
such a change writes its audit line only, not the record again.

Writes that arrive while a commit is under way are gathered into the next one (a burst of
arrivals is a few commits, not one per person), and every caller waits for its own to be
durable.
"""

from __future__ import annotations

import asyncio
import contextlib

from msgspec.structs import replace

from tlh.domain import rooms as rules
from tlh.domain.live_records import KeptMessage, RoomRecord
from tlh.domain.rooms import RoomEntry
from tlh.services.context import Actor, Context
from tlh.services.waiting_pages import RoomPages
from tlh.services.waiting_state import RoomState
from tlh.store.base import AuditNote, Delete, Op, Put, note

TABLE = RoomRecord


class RoomLedger:
    """Writes live entries to the store and reads them back at start-up."""

    def __init__(self, ctx: Context, state: RoomState, pages: RoomPages) -> None:
        self.ctx, self._state, self._pages = ctx, state, pages
        #: This server's id when several share the store (written with each entry).
        self.server_id: str | None = None
        #: Writes waiting for the next commit, by entry id.
        self._ops: dict[str, Op] = {}
        self._notes: list[AuditNote] = []
        self._batch: asyncio.Future[None] | None = None
        self._writer: asyncio.Task[None] | None = None

    def record_of(self, entry: RoomEntry) -> RoomRecord | None:
        """What is kept of a live entry (``None`` once it has ended)."""
        if entry.state not in rules.LIVE_STATES:
            return None
        # The entry itself where its presence already reads as kept: the store then keeps
        # the rooms' own object, not a second copy (``tlh.store.given``).
        kept = entry
        if not entry.online or entry.disconnected_at is not None or entry.reconnects:
            kept = replace(entry, online=True, disconnected_at=None, reconnects=0)
        messages = tuple(KeptMessage(text=m.text, at=m.at) for m in self._pages.kept(entry.id))
        return RoomRecord(
            id=entry.id,
            entry=kept,
            segment_id=self._state.call_of(entry.id),
            messages=messages,
            server_id=self.server_id,
        )

    async def write(self, actor: Actor, action: str, entry: RoomEntry) -> None:
        """Record ``actor`` did ``action`` to ``entry``: the entry as it is now written
        (or deleted, once ended) with the audit note, in one commit."""
        record = self.record_of(entry)
        if record == await self._kept(entry.id):
            await self.ctx.audit.append(actor, action, entry.id)
            return
        op: Op = Put(record) if record is not None else Delete(TABLE, entry.id)
        self._ops[entry.id] = op
        self._notes.append(note(actor, action, entry.id))
        if self._batch is None:
            self._batch = asyncio.get_running_loop().create_future()
        batch = self._batch
        if self._writer is None or self._writer.done():
            self._writer = asyncio.get_running_loop().create_task(self._write_batches())
        await asyncio.shield(batch)

    async def _kept(self, entry_id: str) -> RoomRecord | None:
        """The entry's record as the next commit leaves it (queued, else stored): no
        second copy of every entry is kept here (a write under way may be compared with
        the record before it, and written once more)."""
        op = self._ops.get(entry_id)
        if op is not None:
            return op.record if isinstance(op, Put) and isinstance(op.record, RoomRecord) else None
        found = await self.ctx.store.get(TABLE, entry_id)
        return found

    async def _write_batches(self) -> None:
        while self._batch is not None:
            await asyncio.sleep(0)  # the writes of this turn of the loop join the batch
            ops, notes, batch = list(self._ops.values()), self._notes, self._batch
            self._ops, self._notes, self._batch = {}, [], None
            try:
                await self.ctx.store.commit(ops, audit=notes)
            except Exception as exc:
                batch.set_exception(exc)
                batch.exception()  # the callers raise it; never "never retrieved"
            else:
                batch.set_result(None)

    async def stored(self) -> list[RoomRecord]:
        """The entries kept when the server stopped (read at start-up)."""
        return await self.ctx.store.all(TABLE)

    async def close(self) -> None:
        """Wait for the writes under way (server shutdown)."""
        if self._writer is not None:
            with contextlib.suppress(Exception):
                await self._writer
