"""The staff's side of the waiting rooms: admitting, denying, messaging, moving.

Every action checks the actor's role and that a clinician acts on their own room (or
the shared queue): another room's entry answers as an unknown one (404), naming another
clinician's room is refused (403). Presence is the clinician's own.
"""

from __future__ import annotations

from tlh.domain import rooms as rules
from tlh.domain.models import Role
from tlh.domain.rooms import Presence, RoomEntry
from tlh.errors import Conflict, InvalidInput, NotFound
from tlh.services import auth, scope, sessions
from tlh.services.context import Actor
from tlh.services.staff import find_staff
from tlh.services.waiting_admission import Admission
from tlh.services.waiting_view import message_frame


class NobodyWaiting(NotFound):
    code = "nobody_waiting"


class StaffSide(Admission):
    """What staff do to the entries of a room."""

    def check_room(self, actor: Actor, clinician_id: str | None, *roles: Role) -> None:
        """Role check, and a clinician names their own room (or the shared queue)."""
        auth.require_role(actor, *roles)
        scope.check_room(actor, clinician_id)

    def own_entry(self, actor: Actor, entry_id: str, *roles: Role) -> RoomEntry:
        """The live entry, after the role check; another clinician's room's entry is
        as unknown as a missing one."""
        auth.require_role(actor, *roles)
        entry = self.entry(entry_id)
        if not scope.owns_room(actor, entry.clinician_id):
            raise NotFound(f"no live room entry {entry_id}")
        return entry

    async def admit(
        self, actor: Actor, entry_id: str, *, approve_second_device: bool = False
    ) -> RoomEntry:
        """Let an entry into its session, starting the session if none is open."""
        entry = self.own_entry(actor, entry_id, Role.ADMIN, Role.CLINICIAN)
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
        entry = self.own_entry(actor, entry_id, Role.ADMIN, Role.CLINICIAN)
        denied = rules.deny(entry, self.ctx.clock())
        if message:
            self._push(entry.id, message_frame(message, self.ctx.clock()))
        await self._finish(denied, actor, "room.deny", "room.denied", by=actor.id)
        return denied

    async def send_back(self, actor: Actor, entry_id: str) -> RoomEntry:
        """From the call back to waiting, first in line."""
        entry = self.own_entry(actor, entry_id, Role.ADMIN, Role.CLINICIAN)
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

    async def message(self, actor: Actor, entry_id: str, text: str) -> None:
        entry = self.own_entry(actor, entry_id, Role.ADMIN, Role.SCHEDULER, Role.CLINICIAN)
        frame = message_frame(text, self.ctx.clock())
        self._push(entry_id, frame)
        await self._record(actor, "room.message", "room.message", entry, by=actor.id)

    async def message_all(self, actor: Actor, clinician_id: str | None, text: str) -> int:
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
        entry = self.own_entry(actor, entry_id, Role.ADMIN, Role.SCHEDULER, Role.CLINICIAN)
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

    async def set_presence(self, actor: Actor, presence: Presence) -> None:
        """What the clinician's waiting clients see: online, late or busy."""
        auth.require_role(actor, Role.CLINICIAN)
        if presence is Presence.OFFLINE:
            raise InvalidInput("presence is online, late or busy")
        self._presence[actor.id] = presence
        event = {"clinician_id": actor.id, "presence": presence.value}
        self.ctx.events.publish("room.updated", event)
        self._refresh(actor.id, everyone=True)
