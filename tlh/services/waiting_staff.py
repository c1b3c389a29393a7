"""The staff's side of the waiting rooms: admitting, denying, messaging, moving.

Every action checks the actor's role and that a clinician acts on their own room (or
the shared queue): another room's entry answers as an unknown one (404), naming another
clinician's room is refused (403). Presence is the clinician's own.
"""

from __future__ import annotations

from typing import Any

from tlh.domain import rooms as rules
from tlh.domain.models import Role
from tlh.domain.rooms import Presence, RoomEntry
from tlh.errors import BadRequest, Conflict, NotFound
from tlh.services import auth, scope, sessions, transfers
from tlh.services.context import Actor
from tlh.services.room_link import RoomLink
from tlh.services.sessions import NotEligible
from tlh.services.staff import find_staff
from tlh.services.waiting_admission import Admission
from tlh.services.waiting_exits import Exits
from tlh.services.waiting_parts import RoomParts
from tlh.services.waiting_view import clean_message, message_frame


class NobodyWaiting(NotFound):
    code = "nobody_waiting"


class StaffSide:
    """What staff do to the entries of a room."""

    def __init__(self, parts: RoomParts, admission: Admission, exits: Exits) -> None:
        self.ctx, self.hub, self._state, self._pages, self._events = parts
        self._admission, self._exits = admission, exits
        #: The other servers' rooms (``None``: one server): commands on their entries
        #: are forwarded to the owner.
        self.link: RoomLink | None = None

    def _owner(self, entry_id: str) -> str | None:
        """The server to forward a command on this entry to (``None``: run it here)."""
        return self._state.owner_of(entry_id) if self.link is not None else None

    async def _admit(
        self, actor: Actor, entry: RoomEntry, approve: bool, into: str | None = None
    ) -> RoomEntry:
        """Admit here, or on the server owning the entry."""
        owner = self._owner(entry.id)
        if owner is None or self.link is None:
            return await self._admission.admit(actor, entry, approve, into=into)
        found = await self.link.ask(owner, "admit", actor, entry.id, approve=approve, into=into)
        assert found is not None
        return found

    def check_room(self, actor: Actor, clinician_id: str | None, *roles: Role) -> None:
        """Role check, and a clinician names their own room (or the shared queue)."""
        auth.require_role(actor, *roles)
        scope.check_room(actor, clinician_id)

    def own_entry(self, actor: Actor, entry_id: str, *roles: Role) -> RoomEntry:
        """The live entry, after the role check; another clinician's room's entry is
        as unknown as a missing one."""
        auth.require_role(actor, *roles)
        entry = self._state.entry(entry_id)
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
        for entry in rules.admissible(self._state.live(clinician_id)):
            try:
                done.append(await self._admit(actor, entry, False))
            except (Conflict, NotFound) as exc:
                first_error = first_error or exc
        if not done and first_error is not None:
            raise first_error
        return done

    async def next(self, actor: Actor, clinician_id: str) -> RoomEntry:
        """Admit the first in the caller's line whose session can start (someone early
        for a later visit, or whose consent is missing, waits), else the first of the
        shared queue; with nobody able to start, the first one's reason."""
        self.check_room(actor, clinician_id, Role.ADMIN, Role.CLINICIAN)
        blocked: NotEligible | None = None
        for room in (clinician_id, None):
            for entry in rules.admissible(self._state.live(room)):
                try:
                    return await self._admit(actor, entry, False, into=clinician_id)
                except NotEligible as exc:
                    blocked = blocked or exc
        if blocked is not None:
            raise blocked
        raise NobodyWaiting("nobody is waiting")

    async def deny(self, actor: Actor, entry_id: str, message: str | None = None) -> RoomEntry:
        """Send the entry away, with a message for its page if given."""
        entry = self.own_entry(actor, entry_id, Role.ADMIN, Role.CLINICIAN)
        if (owner := self._owner(entry_id)) is not None and self.link is not None:
            return await self._forwarded(owner, "deny", actor, entry_id, message=message)
        # The words ride in the page's last status, which stays on screen (a message
        # frame would be shown in the waiting view the page is leaving).
        text = clean_message(message) if message else None
        denied = rules.deny(entry, self.ctx.clock(), text)
        await self._exits.finish(denied, actor, "room.deny", "room.denied", by=actor.id)
        return denied

    async def send_back(self, actor: Actor, entry_id: str) -> RoomEntry:
        """From the call back to waiting, first in line."""
        entry = self.own_entry(actor, entry_id, Role.ADMIN, Role.CLINICIAN)
        if (owner := self._owner(entry_id)) is not None and self.link is not None:
            return await self._forwarded(owner, "send_back", actor, entry_id)
        now = self.ctx.clock()
        back = rules.send_back(entry, now)
        self._state.put(back)
        segment_id = self._state.leave_call(entry_id)
        conn = self._pages.connection(entry_id)
        if segment_id is not None:
            self.hub.leave(segment_id, entry_id, conn.outbox.push if conn else None)
            await sessions.left(self.ctx, segment_id, entry_id, now)
        await self._events.record(actor, "room.return", "room.returned", back, by=actor.id)
        await self._pages.refresh(back.clinician_id)
        return back

    async def message(self, actor: Actor, entry_id: str, text: str) -> None:
        """A message to one entry's page ("running 5 minutes late")."""
        entry = self.own_entry(actor, entry_id, Role.ADMIN, Role.SCHEDULER, Role.CLINICIAN)
        if (owner := self._owner(entry_id)) is not None and self.link is not None:
            await self.link.ask(owner, "message", actor, entry_id, text=text)
            return
        frame = message_frame(text, self.ctx.clock())
        self._pages.push(entry_id, frame)
        await self._events.record(actor, "room.message", "room.message", entry, by=actor.id)

    async def message_all(self, actor: Actor, clinician_id: str | None, text: str) -> int:
        """Message everyone waiting in a room; returns how many."""
        self.check_room(actor, clinician_id, Role.ADMIN, Role.SCHEDULER, Role.CLINICIAN)
        frame = message_frame(text, self.ctx.clock())
        line = rules.in_line(self._state.live(clinician_id))
        for entry in line:
            if (owner := self._owner(entry.id)) is not None and self.link is not None:
                await self.link.ask(owner, "message", actor, entry.id, text=text)
                continue
            self._pages.push(entry.id, frame)
            await self._events.record(actor, "room.message", "room.message", entry, by=actor.id)
        return len(line)

    async def transfer(self, actor: Actor, entry_id: str, to: str) -> RoomEntry:
        """Move an entry to another clinician's room: a waiting one keeping its arrival,
        one in the call leaving it to wait first there. The receiving clinician is added
        to the visit's appointment, so they can let the client in (``transfers``)."""
        entry = self.own_entry(actor, entry_id, Role.ADMIN, Role.SCHEDULER, Role.CLINICIAN)
        if (owner := self._owner(entry_id)) is not None and self.link is not None:
            return await self._forwarded(owner, "transfer", actor, entry_id, to=to)
        target = await find_staff(self.ctx, to)
        transfers.check_receiver(target, entry.appointment_id)
        rules.transfer(entry, target.id, self.ctx.clock())  # refused before anything changes
        if entry.appointment_id is not None:
            await transfers.grant(self.ctx, actor, entry.appointment_id, target.id)
        # As it is now (the grant was awaited): moved with no await before it is put.
        entry = self._state.entry(entry_id)
        now = self.ctx.clock()
        moved = rules.transfer(entry, target.id, now)
        self._state.put(moved)
        segment_id = self._state.leave_call(entry_id)
        if segment_id is not None:
            conn = self._pages.connection(entry_id)
            self.hub.leave(segment_id, entry_id, conn.outbox.push if conn else None)
            await sessions.left(self.ctx, segment_id, entry_id, now)
        await self._events.record(
            actor, "room.transfer", "room.transferred", moved, moved_from=entry, by=actor.id
        )
        if entry.appointment_id is not None:
            await self._close_left_behind(actor, entry.appointment_id, target.id)
        await self._pages.refresh(entry.clinician_id)
        await self._pages.refresh(target.id)
        await self._admission.auto_admit(moved)
        return self._state.current(moved)

    async def _close_left_behind(self, actor: Actor, appointment_id: str, receiver: str) -> None:
        """Close the sending clinician's session of the visit when no one is left in its
        call but staff: those in it hear it ended; the receiver's admission opens anew."""
        segment = await sessions.open_segment(self.ctx, appointment_id=appointment_id)
        if segment is None or segment.clinician_id == receiver or self._state.in_call(segment.id):
            return
        closed = await sessions.close(self.ctx, actor, segment.id)  # publishes session.ended
        self.hub.end(closed.id)
        self._pages.forget_visits(closed.clinician_id)

    async def _forwarded(
        self, owner: str, op: str, actor: Actor, entry_id: str, **args: Any
    ) -> RoomEntry:
        assert self.link is not None
        found = await self.link.ask(owner, op, actor, entry_id, **args)
        assert found is not None
        return found

    async def run(
        self, op: str, actor: Actor, entry_id: str, args: dict[str, Any]
    ) -> RoomEntry | None:
        """A command another server forwarded for an entry of this one's, run with the
        same checks as here (``RoomLink``)."""
        if op == "admit":
            entry = self.own_entry(actor, entry_id, Role.ADMIN, Role.CLINICIAN)
            return await self._admission.admit(
                actor, entry, bool(args.get("approve")), into=args.get("into")
            )
        if op == "deny":
            return await self.deny(actor, entry_id, args.get("message"))
        if op == "send_back":
            return await self.send_back(actor, entry_id)
        if op == "message":
            await self.message(actor, entry_id, str(args.get("text", "")))
            return None
        if op == "transfer":
            return await self.transfer(actor, entry_id, str(args.get("to", "")))
        raise BadRequest(f"unknown room command {op!r}")

    async def connected(self, staff_id: str, connected: bool) -> None:
        """A staff member opened their first page or socket, or closed their last one:
        their waiting clients hear whether they are online."""
        before = self._state.presence_of(staff_id)
        self._state.set_connected(staff_id, connected)
        if self.link is not None:
            self.link.presence(staff_id)
        after = self._state.presence_of(staff_id)
        if after is not before:
            self._events.presence(staff_id, after)
            await self._pages.refresh(staff_id, everyone=True)

    async def set_presence(self, actor: Actor, presence: Presence) -> None:
        """What the clinician's waiting clients see: online, late or busy."""
        auth.require_role(actor, Role.CLINICIAN)
        chosen = rules.chosen_presence(presence)
        self._state.set_presence(actor.id, chosen)
        if self.link is not None:
            self.link.presence(actor.id)
        self._events.presence(actor.id, self._state.presence_of(actor.id))
        await self._pages.refresh(actor.id, everyone=True)
