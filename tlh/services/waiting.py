"""The live waiting rooms: who is waiting, their sockets, admission into the call.

Kept in memory (a restart empties the rooms; the session segments in the store keep the
history). The rules are ``tlh.domain.rooms``; this applies them, talks to the sockets
through ``Connection`` outboxes, publishes ``room.*`` events (ids only) and audits every
change. Admission is check-and-set with no ``await`` in between, so two staff clicking
"admit" at once get one admission and one ``already_admitted``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import msgspec
from msgspec.structs import replace

from tlh.domain import rooms as rules
from tlh.domain.links import JoinLink
from tlh.domain.models import Role, Staff
from tlh.domain.rooms import ConnectionTest, DeviceCheck, EntryState, Presence, RoomEntry
from tlh.domain.sessions import Participation, SessionSegment
from tlh.errors import Conflict, Forbidden, InvalidInput, NotFound, TlhError
from tlh.services import auth, sessions
from tlh.services.callhub import CallHub, Outbox, SessionFull
from tlh.services.context import SYSTEM, Actor, Context, new_id
from tlh.services.events import OVERFLOW, EventBus, Subscription
from tlh.services.links import LINK_REVOKED
from tlh.services.staff import find_staff
from tlh.services.waiting_timers import Expiries, Timer
from tlh.services.waiting_view import (
    Facts,
    average_visit,
    call_label,
    clean_display_name,
    message_frame,
    room_of,
    staff_name,
    status_frame,
)

log = logging.getLogger(__name__)
IN_CALL = (EntryState.ADMITTED, EntryState.IN_SESSION)
_KEPT_MESSAGES = 20
#: Connection tests of pages not yet in a room (the test runs before the waiting room).
_KEPT_TESTS = 200


class NobodyWaiting(NotFound):
    code = "nobody_waiting"


class NotAdmitted(Forbidden):
    """A participant tried to signal before being let into the call."""

    code = "not_admitted"


@dataclass(eq=False, slots=True)
class Connection:
    """One participant socket: its outbox, how to close it, and the entry it speaks for
    (set by ``Rooms``; ``None`` before hello and after the entry ends)."""

    outbox: Outbox
    close: Callable[[], Awaitable[Any]]
    entry_id: str | None = None


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
        self.ctx, self.hub, self.grace_s = ctx, hub, grace_s
        self.ice_servers = [dict(s) for s in ice_servers]
        self._expiries = Expiries(timer)
        self._entries: dict[str, RoomEntry] = {}
        self._conns: dict[str, Connection] = {}
        self._segment_of: dict[str, str] = {}
        self._presence: dict[str, Presence] = {}
        self._messages: dict[str, list[dict[str, Any]]] = {}
        self._opens_at: dict[str, Any] = {}
        self._avg_visit: dict[str, float | None] = {}
        self._tests: dict[tuple[str, str], ConnectionTest] = {}
        self._follower: asyncio.Task[None] | None = None

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

    # --- the participant's side ------------------------------------------------------------

    async def hello(
        self,
        link: JoinLink,
        device_id: str,
        conn: Connection,
        *,
        display_name: str = "",
        opens_at: Any = None,
    ) -> RoomEntry:
        """A page says hello: a new entry, a reconnect, or a second device."""
        now = self.ctx.clock()
        mine = [e for e in self._entries.values() if e.link_id == link.id]
        found = rules.arrival(mine, device_id, now, self.grace_s, reusable=link.reusable)
        who = Actor(kind="client_link", id=link.id)
        if found.kind is rules.ArrivalKind.RECONNECT and found.entry is not None:
            entry = rules.reconnect(found.entry, now)
            self._entries[entry.id] = entry
            self._expiries.cancel(entry.id)
            self._attach(entry, conn)
            action, event = "room.reconnect", "room.reconnected"
        else:
            entry = RoomEntry(
                id=new_id("ent"),
                clinician_id=room_of(self.ctx, link),
                link_id=link.id,
                participant=link.participant,
                client_id=link.client_id,
                contact_id=link.contact_id,
                appointment_id=link.appointment_id,
                display_name=clean_display_name(display_name) if link.client_id is None else "",
                channel=link.channel,
                arrived_at=now,
                state_since=now,
                device_id=device_id,
                second_device=found.kind is rules.ArrivalKind.SECOND_DEVICE,
                connection_test=self._tests.pop((link.id, device_id), None),
            )
            self._entries[entry.id] = entry
            self._attach(entry, conn)
            action, event = "room.join", "room.joined"
        if opens_at is not None:
            self._opens_at[entry.id] = opens_at
        # The page hears its place before the audit line is flushed: that write is
        # group-committed and would add its latency to every join.
        self._send_status(entry)
        for message in self._messages.get(entry.id, []):
            conn.outbox.push(message)
        await self._record(who, action, event, entry)
        if entry.state in IN_CALL:
            segment_id = self._segment_of.get(entry.id)
            if segment_id is not None:
                self._join_call(entry, segment_id)
        else:
            await self._auto_admit(entry)
        return self._entries.get(entry.id, entry)

    def connection_closed(self, conn: Connection) -> None:
        """The socket went away: the entry keeps its place for the grace period."""
        entry_id = conn.entry_id
        conn.entry_id = None
        if entry_id is None or self._conns.get(entry_id) is not conn:
            return
        del self._conns[entry_id]
        entry = self._entries.get(entry_id)
        if entry is None:
            return
        segment_id = self._segment_of.get(entry_id)
        if segment_id is not None:
            self.hub.leave(segment_id, entry_id, conn.outbox.push)
        self._entries[entry_id] = rules.disconnect(entry, self.ctx.clock())
        self._publish("room.updated", entry, online=False)
        self._expiries.schedule(entry_id, self.grace_s, partial(self._expire_due, entry_id))

    async def device_check(self, entry_id: str, frame: dict[str, Any]) -> None:
        entry = self.entry(entry_id)
        allowed = {"ok", "denied", "missing", "skipped"}
        values = {k: frame.get(k, "skipped") for k in ("camera", "microphone", "speaker")}
        if not all(v in allowed for v in values.values()):
            raise InvalidInput("device check values are ok, denied, missing or skipped")
        check = DeviceCheck(**values, at=self.ctx.clock())
        self._entries[entry_id] = replace(entry, device_check=check)
        self._publish("room.updated", entry)

    async def connection_test(
        self, link_id: str, device_id: str, test: ConnectionTest
    ) -> RoomEntry | None:
        """A connection test's result: onto the live entry of that link and device, or
        kept until that device says hello (``None``)."""
        for entry in list(self._entries.values()):
            if entry.link_id == link_id and entry.device_id == device_id:
                tested = replace(entry, connection_test=test)
                self._entries[entry.id] = tested
                who = Actor(kind="client_link", id=link_id)
                await self._record(who, "room.conntest", "room.updated", tested)
                return tested
        self._tests.pop((link_id, device_id), None)
        self._tests[(link_id, device_id)] = test
        while len(self._tests) > _KEPT_TESTS:
            del self._tests[next(iter(self._tests))]
        return None

    async def media(self, entry_id: str, state: object) -> None:
        entry = self.entry(entry_id)
        if state == "connected":
            self._entries[entry_id] = rules.media_connected(entry, self.ctx.clock())
            self._send_status(self._entries[entry_id])
        elif state != "failed":
            raise InvalidInput("media state is connected or failed")
        else:  # the direct path failed: the segment goes through the server's relay
            segment_id = self._segment_of.get(entry_id)
            if segment_id is not None:
                self.hub.fall_back(segment_id)
        self._publish("room.updated", entry, media=str(state))

    def signal(self, entry_id: str, to: str, data: Any) -> None:
        """Relay a signalling payload; only admitted entries may (``NotAdmitted``)."""
        entry = self._entries.get(entry_id)
        segment_id = self._segment_of.get(entry_id)
        if entry is None or entry.state not in IN_CALL or segment_id is None:
            raise NotAdmitted("signalling is only allowed after admission")
        self.hub.relay(segment_id, entry_id, to, data)

    async def leave(self, entry_id: str) -> None:
        entry = self.entry(entry_id)
        who = Actor(kind="client_link", id=entry.link_id)
        await self._finish(rules.leave(entry, self.ctx.clock()), who, "room.leave", "room.left")

    # --- staff actions -----------------------------------------------------------------------

    def check_room(self, actor: Actor, clinician_id: str | None, *roles: Role) -> None:
        """Role check, and a clinician acts on their own room (or the shared queue)."""
        auth.require_role(actor, *roles)
        if actor.role is Role.CLINICIAN and clinician_id not in (actor.id, None):
            raise Forbidden("that entry is in another clinician's room")

    async def admit(
        self, actor: Actor, entry_id: str, *, approve_second_device: bool = False
    ) -> RoomEntry:
        """Let an entry into its session, starting the session if none is open."""
        entry = self.entry(entry_id)
        self.check_room(actor, entry.clinician_id, Role.ADMIN, Role.CLINICIAN)
        return await self._admit(actor, entry, approve_second_device)

    async def admit_all(self, actor: Actor, clinician_id: str) -> list[RoomEntry]:
        """Admit everyone waiting in a room (second devices stay waiting)."""
        self.check_room(actor, clinician_id, Role.ADMIN, Role.CLINICIAN)
        done: list[RoomEntry] = []
        first_error: Exception | None = None
        for entry in rules.in_line(self.live(clinician_id)):
            if entry.second_device:
                continue
            try:
                done.append(await self._admit(actor, entry, False))
            except (Conflict, NotFound) as exc:
                first_error = first_error or exc
        if not done and first_error is not None:
            raise first_error
        return done

    async def next(self, actor: Actor, clinician_id: str) -> RoomEntry:
        """Admit the first in the caller's line, else the first of the shared queue."""
        self.check_room(actor, clinician_id, Role.ADMIN, Role.CLINICIAN)
        for room in (clinician_id, None):
            line = [e for e in rules.in_line(self.live(room)) if not e.second_device]
            if line:
                return await self._admit(actor, line[0], False, into=clinician_id)
        raise NobodyWaiting("nobody is waiting")

    async def deny(self, actor: Actor, entry_id: str, message: str | None = None) -> RoomEntry:
        entry = self.entry(entry_id)
        self.check_room(actor, entry.clinician_id, Role.ADMIN, Role.CLINICIAN)
        denied = rules.deny(entry, self.ctx.clock())
        if message:
            self._push(entry.id, message_frame(message, self.ctx.clock()))
        await self._finish(denied, actor, "room.deny", "room.denied", by=actor.id)
        return denied

    async def send_back(self, actor: Actor, entry_id: str) -> RoomEntry:
        """From the call back to waiting, first in line."""
        entry = self.entry(entry_id)
        self.check_room(actor, entry.clinician_id, Role.ADMIN, Role.CLINICIAN)
        now = self.ctx.clock()
        back = rules.send_back(entry, now)
        self._entries[entry_id] = back
        segment_id = self._segment_of.pop(entry_id, None)
        conn = self._conns.get(entry_id)
        if segment_id is not None:
            self.hub.leave(segment_id, entry_id, conn.outbox.push if conn else None)
            await sessions.left(self.ctx, segment_id, entry_id, now)
        await self._record(actor, "room.return", "room.returned", back, by=actor.id)
        self._refresh(back.clinician_id)
        return back

    async def message(self, actor: Actor, entry_id: str, text: object) -> None:
        entry = self.entry(entry_id)
        self.check_room(actor, entry.clinician_id, Role.ADMIN, Role.SCHEDULER, Role.CLINICIAN)
        frame = message_frame(text, self.ctx.clock())
        self._push(entry_id, frame)
        await self._record(actor, "room.message", "room.message", entry, by=actor.id)

    async def message_all(self, actor: Actor, clinician_id: str | None, text: object) -> int:
        """Message everyone waiting in a room; returns how many."""
        self.check_room(actor, clinician_id, Role.ADMIN, Role.SCHEDULER, Role.CLINICIAN)
        frame = message_frame(text, self.ctx.clock())
        line = rules.in_line(self.live(clinician_id))
        for entry in line:
            self._push(entry.id, frame)
            await self._record(actor, "room.message", "room.message", entry, by=actor.id)
        return len(line)

    async def transfer(self, actor: Actor, entry_id: str, to: str) -> RoomEntry:
        """Move a waiting entry to another clinician's room, keeping its arrival."""
        entry = self.entry(entry_id)
        self.check_room(actor, entry.clinician_id, Role.ADMIN, Role.SCHEDULER, Role.CLINICIAN)
        target = find_staff(self.ctx, to)
        if target.role is not Role.CLINICIAN:
            raise InvalidInput(f"staff {target.id} is not a clinician")
        moved = rules.transfer(entry, target.id, self.ctx.clock())
        self._entries[entry_id] = moved
        await self._record(actor, "room.transfer", "room.transferred", moved, by=actor.id)
        self._refresh(entry.clinician_id)
        self._refresh(target.id)
        await self._auto_admit(moved)
        return self._entries.get(entry_id, moved)

    async def set_presence(self, actor: Actor, presence: object) -> None:
        auth.require_role(actor, Role.CLINICIAN)
        if presence not in ("online", "late", "busy"):
            raise InvalidInput("presence is online, late or busy")
        self._presence[actor.id] = Presence(str(presence))
        self.ctx.events.publish("room.updated", {"clinician_id": actor.id, "presence": presence})
        self._refresh(actor.id, everyone=True)

    # --- sessions starting and ending -------------------------------------------------------

    async def session_started(self, segment: SessionSegment) -> None:
        """Auto-admit who is waiting for this session when the waiting room is off."""
        for entry in rules.in_line(self.live(segment.clinician_id)):
            if entry.appointment_id == segment.appointment_id:
                await self._auto_admit(entry)

    async def session_ended(self, segment: SessionSegment) -> None:
        """Everyone in the ended segment's call is out (``ended``); waiting entries stay."""
        self.hub.end(segment.id)
        self._avg_visit.pop(segment.clinician_id, None)
        now = self.ctx.clock()
        for entry_id, segment_id in list(self._segment_of.items()):
            entry = self._entries.get(entry_id)
            if segment_id != segment.id or entry is None:
                continue
            gone = rules.leave(entry, now)
            await self._finish(
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
                if event.type in (LINK_REVOKED, OVERFLOW):  # overflow: maybe missed one
                    try:
                        await self.drop_revoked()
                    except TlhError as exc:
                        log.warning("waiting room: %s ending revoked links", type(exc).__name__)
        finally:
            sub.close()

    async def drop_revoked(self) -> int:
        """Send away everyone whose link is revoked (the page says so); how many."""
        now, dropped = self.ctx.clock(), 0
        for entry in list(self._entries.values()):
            link = self.ctx.store.get("links", entry.link_id)
            if self._entries.get(entry.id) is not entry or (
                isinstance(link, JoinLink) and link.revoked_at is None
            ):
                continue  # gone meanwhile, or still good
            gone = rules.leave(entry, now)
            await self._finish(
                gone, SYSTEM, "room.leave", "room.left", status="revoked", reason="link_revoked"
            )
            dropped += 1
        return dropped

    async def close(self) -> None:
        """Stop following, cancel timers and pending expiries (server shutdown)."""
        if self._follower is not None:
            self._follower.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._follower
        await self._expiries.close()

    # --- internals --------------------------------------------------------------------------

    async def _admit(
        self, actor: Actor, entry: RoomEntry, approve: bool, *, into: str | None = None
    ) -> RoomEntry:
        now = self.ctx.clock()
        try:
            admitted = rules.admit(entry, actor.id, now, approve_second_device=approve)
        except rules.AlreadyAdmitted as exc:
            raise rules.AlreadyAdmitted(
                f"already admitted by {staff_name(self.ctx, exc.by)}", by=exc.by
            ) from None
        if admitted.clinician_id is None:
            lead = into or (actor.id if actor.role is Role.CLINICIAN else None)
            if lead is None:
                raise InvalidInput(f"transfer entry {entry.id} to a clinician before admitting")
            admitted = replace(admitted, clinician_id=lead)
        # The check above and this set run with no await between them: one admit wins.
        self._entries[entry.id] = admitted
        try:
            segment = self._open_segment(admitted)
            if segment is None:
                assert admitted.clinician_id is not None
                segment = await sessions.start(
                    self.ctx, actor, admitted.appointment_id, clinician_id=admitted.clinician_id
                )
            self._join_call(admitted, segment.id, check_only=True)
        except BaseException:
            if self._entries.get(entry.id) is admitted:
                self._entries[entry.id] = entry
            raise
        self._segment_of[entry.id] = segment.id
        if entry.id in self._conns:
            self._join_call(admitted, segment.id)
        await sessions.joined(
            self.ctx,
            segment.id,
            Participation(
                peer_id=entry.id,
                kind=entry.participant.value,
                client_id=entry.client_id,
                contact_id=entry.contact_id,
                channel=entry.channel.value,
                joined_at=now,
            ),
        )
        await self._record(actor, "room.admit", "room.admitted", admitted, by=actor.id)
        self._send_status(admitted)
        self._refresh(admitted.clinician_id)
        return admitted

    async def _auto_admit(self, entry: RoomEntry) -> None:
        if entry.state is not EntryState.WAITING or entry.clinician_id is None:
            return
        policy = self.ctx.policy()
        staff = self.ctx.store.get("staff", entry.clinician_id)
        segment = self._open_segment(entry)
        waiting_room = rules.waiting_room_on(staff if isinstance(staff, Staff) else None, policy)
        if rules.auto_admits(entry, waiting_room=waiting_room, session_open=segment is not None):
            # Full, admitted meanwhile, or the session just closed: the entry keeps
            # waiting for staff.
            with contextlib.suppress(TlhError):
                await self._admit(SYSTEM, entry, False)

    def _open_segment(self, entry: RoomEntry) -> SessionSegment | None:
        if entry.appointment_id is not None:
            return sessions.open_segment(self.ctx, appointment_id=entry.appointment_id)
        return sessions.open_segment(self.ctx, clinician_id=entry.clinician_id)

    def _join_call(self, entry: RoomEntry, segment_id: str, *, check_only: bool = False) -> None:
        """Put the entry's socket into the call and send it ``admitted``."""
        present = self.hub.has(segment_id, entry.id)
        if not present and self.hub.full(segment_id):
            raise SessionFull(f"session {segment_id} already has {self.hub.limit} participants")
        conn = self._conns.get(entry.id)
        if check_only or conn is None:
            return
        label = call_label(self.ctx, entry)
        kind = entry.participant.value
        others = self.hub.join(segment_id, entry.id, label, kind, conn.outbox.push)
        conn.outbox.push(
            {
                "type": "admitted",
                "peer_id": entry.id,
                "session_id": segment_id,
                "peers": [msgspec.to_builtins(p) for p in others],
                "ice_servers": self.ice_servers,
            }
        )

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

    def _push(self, entry_id: str, frame: dict[str, Any]) -> None:
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
    ) -> dict[str, Any]:
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
