"""The live waiting rooms: who is waiting, their sockets, admission into the call.

Live in memory, and kept in the store as they change (``RoomLedger``): a restart rebuilds
the rooms from it (``restore``), so pages that reconnect find their entry and place. The rules are ``tlh.domain.rooms``; the collaborators here apply them, talk to
the sockets through ``Connection`` outboxes, publish ``room.*`` events and audit every
change. Admission is check-and-set with no ``await`` in between, so two staff clicking
"admit" at once get one admission and one ``already_admitted``.

``Rooms`` only composes them, one per concept, each given what it needs:

- ``state`` (``RoomState``): the entries, the call each is in, presence; plain data;
- ``RoomPages``: each entry's socket and what its page is told;
- ``RoomLedger``: the entries kept in the store, each change one commit with its audit;
- ``RoomEvents``: the ``room.*`` events, each change recorded through the ledger;
- ``Exits``: how an entry ends, and the grace period of a dropped socket;
- ``Admission``: letting an entry into its session's call;
- ``participants`` (``ParticipantSide``): what a page's socket asks for;
- ``staff`` (``StaffSide``): what staff do in a room;
- ``hooks`` (``RoomHooks``): sessions starting and ending, links revoked elsewhere.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from msgspec.structs import replace

from tlh.domain import rooms as rules
from tlh.services import sessions
from tlh.services.call_link import CallLink
from tlh.services.callhub import CallHub
from tlh.services.channel import Channel
from tlh.services.context import SYSTEM, Context
from tlh.services.events import EventBus
from tlh.services.ice_plan import IcePlan
from tlh.services.room_link import RoomLink
from tlh.services.server_watch import ServerWatch
from tlh.services.waiting_admission import Admission
from tlh.services.waiting_events import RoomEvents
from tlh.services.waiting_exits import Exits
from tlh.services.waiting_hooks import RoomHooks
from tlh.services.waiting_ledger import RoomLedger
from tlh.services.waiting_pages import Connection, RoomPages
from tlh.services.waiting_participant import NotAdmitted, ParticipantSide
from tlh.services.waiting_parts import RoomParts
from tlh.services.waiting_staff import NobodyWaiting, StaffSide
from tlh.services.waiting_state import RoomState
from tlh.services.waiting_timers import Timer
from tlh.services.waiting_view import clean_display_name

__all__ = ["Connection", "NobodyWaiting", "NotAdmitted", "Rooms", "clean_display_name"]

log = logging.getLogger("tlh.rooms")


async def _nothing() -> None:
    return None


async def _closed(conn: Connection) -> None:
    await conn.close()


class Rooms:
    """Every clinician's room and the practice's shared queue (``clinician_id=None``)."""

    def __init__(
        self,
        ctx: Context,
        hub: CallHub,
        *,
        grace_s: float = 60.0,
        ice_servers: tuple[dict[str, Any], ...] | IcePlan = (),
        timer: Timer | None = None,
        channel: Channel | None = None,
        forward_timeout_s: float = 5.0,
    ) -> None:
        self.ctx, self._hub = ctx, hub
        state = self.state = RoomState()
        pages = self._pages = RoomPages(ctx, state)
        ledger = self._ledger = RoomLedger(ctx, state, pages)
        events = RoomEvents(ctx, state.positions, ledger.write)
        parts = RoomParts(ctx, hub, state, pages, events)
        admission = Admission(parts, IcePlan.of(ice_servers))
        exits = self._exits = Exits(parts, grace_s, timer)
        self.participants = ParticipantSide(parts, admission, exits)
        self.staff = StaffSide(parts, admission, exits)
        self.hooks = RoomHooks(parts, admission, exits)
        #: The other servers' rooms (several servers on one store), else ``None``.
        self.link = (
            None if channel is None else RoomLink(channel, state, timeout_s=forward_timeout_s)
        )
        self._watch: ServerWatch | None = None
        self._calls: CallLink | None = None
        self._unwatching: set[asyncio.Task[None]] = set()
        if self.link is not None:
            ledger.server_id = self.link.server_id
            events.announce = self.link.changed
            self.link.on_moved = self._moved
            self.link.on_room_changed = self._room_changed
            self.staff.link = self.link
        #: Rooms whose waiting pages are to hear their place (changes on other servers,
        #: gathered: one refresh per room per turn of the loop), with "everyone".
        self._dirty: dict[str | None, bool] = {}

    async def share(
        self, watch: ServerWatch | None = None, lost: Callable[[], Awaitable[None]] | None = None
    ) -> None:
        """Follow the other servers' rooms and answer their commands (several servers
        on one store; after ``restore``). With ``watch``: this server is alive while it
        holds its own id (``lost``: it stopped being so), and of the servers watching
        one that dies, exactly one takes its entries over (``adopt``)."""
        link = self.link
        if link is None:
            return
        self._watch = watch
        if watch is not None:
            await watch.hold(link.server_id, lost or _nothing)

            def owner_seen(owner: str) -> None:
                async def gone() -> None:
                    adopted = await self.adopt(owner)
                    log.warning("server %s is gone: took over %d room entries", owner, len(adopted))

                watch.watch(owner, gone)

            def taken_over(owner: str) -> None:
                task = asyncio.get_running_loop().create_task(watch.unwatch(owner))
                self._unwatching.add(task)
                task.add_done_callback(self._unwatching.discard)

            link.on_owner, link.on_taken_over = owner_seen, taken_over
            for owner in {o for i in self.state.replicas() if (o := self.state.owner_of(i))}:
                owner_seen(owner)  # restored from the store: watched like the channel's
        link.start(self.staff.run)
        self._calls = CallLink(link.channel, self._hub)  # signalling between servers' peers
        self._calls.start()
        for entry in self.state.entries():
            link.changed(entry)

    def _room_changed(self, clinician_id: str | None, everyone: bool) -> None:
        if not self._dirty:
            task = asyncio.get_running_loop().create_task(self._refresh_dirty())
            self._unwatching.add(task)
            task.add_done_callback(self._unwatching.discard)
        self._dirty[clinician_id] = self._dirty.get(clinician_id, False) or everyone

    async def _refresh_dirty(self) -> None:
        await asyncio.sleep(0)  # the changes of this turn of the loop, together
        dirty, self._dirty = self._dirty, {}
        for clinician_id, everyone in dirty.items():
            try:
                await self._pages.refresh(clinician_id, everyone=everyone)
            except Exception:
                log.exception("telling waiting pages their place failed")

    def _moved(self, entry_id: str) -> None:
        """An entry's page reconnected to another server, which owns it now: no grace
        timer here; the old socket, if this server still had one, is let go."""
        self._exits.back(entry_id)
        conn = self._pages.connection(entry_id)
        if conn is not None:
            self._pages.detach(conn)
            task = asyncio.get_running_loop().create_task(_closed(conn))
            self._unwatching.add(task)
            task.add_done_callback(self._unwatching.discard)

    async def adopt(self, server_id: str) -> list[str]:
        """Another server died: its entries become this one's, each holding its place for
        the reconnect grace (its page reconnects here); returns their ids."""
        if self.link is None:
            return []
        for record in await self._ledger.stored():
            # Written before its page heard its place, but its word may not have come
            # here before the server died: the store has it.
            if record.server_id == server_id and self.state.get(record.id) is None:
                self.state.put_replica(record.entry, server_id, record.segment_id)
                self._pages.restore(record.id, record.messages)
        adopted = self.link.adopt(server_id)
        if self._calls is not None:
            self._calls.server_gone(server_id)
        for entry_id in adopted:
            entry = self.state.entry(entry_id)
            self.state.put(replace(entry, online=False, disconnected_at=self.ctx.clock()))
            self._exits.hold_place(entry_id)
            self.link.changed(entry)
        # Kept as this server's now (a server starting later leaves them here); the
        # writes gather into a few commits.
        kept = [e for i in adopted if (e := self.state.get(i)) is not None]
        await asyncio.gather(*(self._ledger.write(SYSTEM, "room.adopt", e) for e in kept))
        return adopted

    async def restore(self) -> int:
        """Rebuild the rooms from the store at start-up; returns how many entries came back.

        Each entry is offline from now and keeps its place for the reconnect grace counted
        from the restart; one in a call whose session ended meanwhile has left; one whose
        link was revoked meanwhile is sent away.
        """
        now, back = self.ctx.clock(), 0
        for record in await self._ledger.stored():
            entry = replace(record.entry, online=False, disconnected_at=now)
            owner = record.server_id
            if self.link is not None and owner not in (None, self.link.server_id):
                # Another server's: a replica until it says more (``share`` asks), or
                # this server's if it is dead and this one wins its lock (``adopt``).
                self.state.put_replica(entry, owner, record.segment_id)
                continue
            self.state.put(entry)
            self._pages.restore(entry.id, record.messages)
            segment = await sessions.find_segment(self.ctx, record.segment_id or "")
            if segment is not None and segment.ended_at is None:
                self.state.join_call(entry.id, segment.id)
            elif entry.state in rules.IN_CALL:
                gone = rules.leave(entry, now)
                await self._exits.finish(
                    gone, SYSTEM, "room.leave", "room.left", status="ended", reason="ended"
                )
                continue
            self._exits.hold_place(entry.id)
            back += 1
        return back - await self.hooks.drop_revoked()

    def follow(self, bus: EventBus) -> None:
        """End the entries of links revoked elsewhere (a cancel, a reschedule, an admin)."""
        self.hooks.follow(bus)

    async def close(self) -> None:
        """Stop following, cancel timers and pending expiries (server shutdown)."""
        if self.link is not None:
            await self.link.close()
        for task in list(self._unwatching):
            await task
        if self._watch is not None:
            await self._watch.close()
        await self.hooks.close()
        await self._exits.close()
        await self._ledger.close()
