"""Admission into the call: the check-and-set, the session it opens, the socket it joins.

Shared by the staff's side (admit, next), the participant's side (hello, when the
waiting room is off) and the session hooks (auto-admit when a session starts).
Admission is check-and-set with no ``await`` in between, so two staff clicking "admit"
at once get one admission and one ``already_admitted``.
"""

from __future__ import annotations

import contextlib

from msgspec.structs import replace

from tlh.api.frames import Admitted
from tlh.domain import rooms as rules
from tlh.domain.models import Staff
from tlh.domain.rooms import EntryState, RoomEntry
from tlh.domain.sessions import Participation, SessionSegment
from tlh.errors import InvalidInput, TlhError
from tlh.services import sessions
from tlh.services.callhub import SessionFull
from tlh.services.context import SYSTEM, Actor
from tlh.services.ice_plan import IcePlan, visit_end
from tlh.services.waiting_parts import RoomParts
from tlh.services.waiting_view import call_label, staff_name


class Admission:
    """Letting an entry into its session (for staff, the participant's side and the
    session hooks alike)."""

    def __init__(self, parts: RoomParts, ice: IcePlan | None = None) -> None:
        self.ctx, self.hub, self._state, self._pages, self._events = parts
        #: Handed to each page let in, for its peer connections.
        self.ice = ice if ice is not None else IcePlan()

    async def admit(
        self, actor: Actor, entry: RoomEntry, approve: bool, *, into: str | None = None
    ) -> RoomEntry:
        """Let the entry in (``approve``: a second device too), starting its session if
        none is open; ``into``: the room an entry of the shared queue goes to."""
        # A new arrival's page is told it waits (once its entry is stored) before it is
        # let in: staff hear of it a few milliseconds earlier.
        await self._pages.until_told(entry.id)
        now = self.ctx.clock()
        # The entry as it is now: a caller may hold it from before its own awaits ("admit
        # all" goes one by one), and someone else may have let it in meanwhile.
        entry = self._state.current(entry)
        try:
            admitted = rules.admit(entry, actor.id, now, approve_second_device=approve)
        except rules.AlreadyAdmitted as exc:
            raise rules.AlreadyAdmitted(
                f"already admitted by {await staff_name(self.ctx, exc.by)}", by=exc.by
            ) from None
        if admitted.clinician_id is None:
            lead = into or (actor.id if actor.is_clinician else None)
            if lead is None:
                raise InvalidInput(f"transfer entry {entry.id} to a clinician before admitting")
            admitted = replace(admitted, clinician_id=lead)
        # The check above and this set run with no await between them: one admit wins.
        self._state.put(admitted)
        try:
            segment = await self._open_segment(admitted, staff_letting_in=True)
            if segment is None:
                assert admitted.clinician_id is not None
                segment = await sessions.start(
                    self.ctx, actor, admitted.appointment_id, clinician_id=admitted.clinician_id
                )
            await self.join_call(admitted, segment.id, check_only=True)
        except BaseException:
            if self._state.get(entry.id) is admitted:
                self._state.put(entry)
            raise
        self._state.join_call(entry.id, segment.id)
        if self._pages.connection(entry.id) is not None:
            await self.join_call(admitted, segment.id)
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
                location=entry.location,
            ),
        )
        await self._events.record(
            actor, "room.admit", "room.admitted", admitted, moved_from=entry, by=actor.id
        )
        await self._pages.send_status(admitted)
        await self._pages.refresh(admitted.clinician_id)
        return admitted

    async def auto_admit(self, entry: RoomEntry) -> None:
        """Let the entry in if its room's waiting room is off and its session open."""
        # Called after awaits: the entry may have been sent away (a revoke, a deny) or
        # changed meanwhile. Only a live entry, as it is now, is let in.
        current = self._state.get(entry.id)
        if current is None:
            return
        entry = current
        if self._state.owner_of(entry.id) is not None:
            return  # another server's entry: its owner lets it in
        if entry.state is not EntryState.WAITING or entry.clinician_id is None:
            return
        policy = self.ctx.policy()
        staff = await self.ctx.store.get(Staff, entry.clinician_id)
        segment = await self._open_segment(entry)
        waiting_room = rules.waiting_room_on(staff, policy)
        if rules.auto_admits(entry, waiting_room=waiting_room, session_open=segment is not None):
            # Full, admitted meanwhile, or the session just closed: the entry keeps
            # waiting for staff.
            with contextlib.suppress(TlhError):
                await self.admit(SYSTEM, entry, False)

    async def _open_segment(
        self, entry: RoomEntry, *, staff_letting_in: bool = False
    ) -> SessionSegment | None:
        """The open segment the entry joins: a self-test's for its link's holder, its
        appointment's, else (a guest: an interpreter, a family member, a supervisor)
        the session its clinician is in now when staff let it in, else the room's."""
        if entry.clinician_id is not None:
            # The holder of a self-test's link goes into that test, and only they do.
            for test in await sessions.open_self_tests(self.ctx, entry.clinician_id):
                if test.test_link_id == entry.link_id:
                    return test
        if entry.appointment_id is not None:
            return await sessions.open_segment(self.ctx, appointment_id=entry.appointment_id)
        if staff_letting_in and entry.clinician_id is not None:
            # Only on staff's say-so: with the waiting room off, a guest link must not
            # walk its holder into another client's visit.
            current = await self._session_of(entry.clinician_id)
            if current is not None:
                return current
        return await sessions.open_segment(self.ctx, clinician_id=entry.clinician_id)

    async def _session_of(self, staff_id: str) -> SessionSegment | None:
        """The open, real segment the staff member is in the call of now (latest)."""
        found = [
            s
            for sid in self.hub.sessions_of(staff_id)
            if (s := await self.ctx.store.get(SessionSegment, sid)) is not None
            and s.ended_at is None
            and not s.self_test
        ]
        return max(found, key=lambda s: s.started_at) if found else None

    async def join_call(
        self, entry: RoomEntry, segment_id: str, *, check_only: bool = False, resumed: bool = False
    ) -> None:
        """Put the entry's socket into the call and send it ``admitted`` (``check_only``:
        only ``SessionFull`` when the call has no room for it; ``resumed``: the page still
        holds its media connections, so the others keep theirs)."""
        present = self.hub.has(segment_id, entry.id)
        if not present and self.hub.full(segment_id):
            raise SessionFull(f"session {segment_id} already has {self.hub.limit} participants")
        conn = self._pages.connection(entry.id)
        if check_only or conn is None:
            return
        label = await call_label(self.ctx, entry)
        kind = entry.participant.value
        others = self.hub.join(segment_id, entry.id, label, kind, conn.outbox.push, resumed=resumed)
        conn.outbox.push(
            Admitted(
                peer_id=entry.id,
                session_id=segment_id,
                peers=others,
                ice_servers=self.ice.servers(
                    entry.id, await visit_end(self.ctx, entry.appointment_id)
                ),
            )
        )
