"""The participant's side of the waiting rooms: what a page's socket asks for.

Hello (a new entry, a reconnect or a second device), the socket closing (a grace
period, not the end), the device check, the connection test, the media state,
signalling once admitted, and leaving.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from msgspec.structs import replace

from tlh.api.frames import DeviceCheckDone, ReplySent
from tlh.domain import room_replies as replies
from tlh.domain import rooms as rules
from tlh.domain.links import JoinLink
from tlh.domain.locations import ClientLocation
from tlh.domain.rooms import ConnectionTest, DeviceCheck, EntryState, RoomEntry
from tlh.errors import Forbidden
from tlh.services.context import Actor, new_id
from tlh.services.waiting_admission import Admission
from tlh.services.waiting_exits import Exits
from tlh.services.waiting_pages import Connection
from tlh.services.waiting_parts import RoomParts
from tlh.services.waiting_view import clean_display_name, room_and_start

#: Connection tests of pages not yet in a room (the test runs before the waiting room).
_KEPT_TESTS = 200


class NotAdmitted(Forbidden):
    """A participant tried to signal before being let into the call."""

    code = "not_admitted"


class ParticipantSide:
    """What a participant's page does in its room."""

    def __init__(self, parts: RoomParts, admission: Admission, exits: Exits) -> None:
        self.ctx, self.hub, self._state, self._pages, self._events = parts
        self._admission, self._exits = admission, exits
        #: Connection tests of pages not yet in a room, by link and device.
        self._tests: dict[tuple[str, str], ConnectionTest] = {}

    async def hello(
        self,
        link: JoinLink,
        device_id: str,
        conn: Connection,
        *,
        display_name: str = "",
        opens_at: datetime | None = None,
        resume: str | None = None,
        location: ClientLocation | None = None,
    ) -> RoomEntry:
        """A page says hello: a new entry, a reconnect, or a second device (``resume``:
        the session whose call it still holds connections in; ``location``: where the
        person said they are, policy ``ask_location``)."""
        now = self.ctx.clock()
        mine = self._state.of_link(link.id)
        found = rules.arrival(mine, device_id, now, self._exits.grace_s, reusable=link.reusable)
        if found.entry is not None and self._state.owner_of(found.entry.id) is not None:
            # Another server's entry whose page came here (that server died, or the
            # balancer moved the page): the entry is owned where its socket is.
            self._state.adopt(found.entry.id)
        who = Actor(kind="client_link", id=link.id)
        if found.kind is rules.ArrivalKind.RECONNECT and found.entry is not None:
            entry = rules.reconnect(found.entry, now)
            self._state.put(entry)
            self._exits.back(entry.id)
            self._attach(entry, conn)
            action, event = "room.reconnect", "room.reconnected"
        elif found.kind is rules.ArrivalKind.TAKEOVER and found.entry is not None:
            # The device before went offline: this one carries on in its place.
            entry = rules.take_over(found.entry, device_id, now)
            self._state.put(entry)
            self._exits.back(entry.id)
            self._attach(entry, conn)
            action, event = "room.takeover", "room.reconnected"
        else:
            room, due = await room_and_start(self.ctx, link)
            entry = RoomEntry(
                id=new_id("ent"),
                clinician_id=room,
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
                due_at=due,
                location=location,
            )
            self._state.put(entry)
            self._attach(entry, conn)
            action, event = "room.join", "room.joined"
        if opens_at is not None:
            self._pages.opens_at(entry.id, opens_at)
        if action == "room.join":
            # A new arrival hears its place once its entry is written (a batched write:
            # a few milliseconds): a page told a place keeps it through a crash or a
            # failover, as its entry is there when it comes back. Staff hear of it at
            # once; letting it in waits until its page has been told it waits
            # (``Admission.admit``: ``RoomPages.until_told``).
            self._pages.telling(entry.id)
            try:
                await self._events.record(who, action, event, entry)
                live = self._state.get(entry.id)
                # Still waiting (it may have left, or been sent away, during the write).
                if live is not None and live.state is EntryState.WAITING:
                    places = self._state.positions(live.clinician_id)
                    place = places.get(live.id, 0)
                    if place < len(places):
                        # Due before others: they move back (those ahead stay put).
                        await self._pages.refresh(live.clinician_id, from_place=place)
                    else:
                        await self._pages.send_status(live)
            finally:
                self._pages.told(entry.id)
            self._pages.replay(entry.id)
        else:
            # Back on an entry already stored: its place is kept whatever happens next.
            await self._pages.send_status(entry)
            self._pages.replay(entry.id)
            await self._events.record(who, action, event, entry)
        if entry.state in rules.IN_CALL:
            segment_id = self._state.call_of(entry.id)
            if segment_id is not None:
                await self._admission.join_call(entry, segment_id, resumed=resume == segment_id)
        else:
            await self._admission.auto_admit(entry)
        return self._state.current(entry)

    def _attach(self, entry: RoomEntry, conn: Connection) -> None:
        old = self._pages.attach(entry.id, conn)
        if old is not None:  # a reload superseded that socket
            segment_id = self._state.call_of(entry.id)
            if segment_id is not None:
                self.hub.leave(segment_id, entry.id, old.outbox.push)
            old.outbox.finish(old.close)

    async def connection_closed(self, conn: Connection) -> None:
        """The socket went away: the entry keeps its place for the grace period, unless
        a second device on its link is waiting: then that one takes its place now."""
        entry_id = self._pages.detach(conn)
        entry = self._state.get(entry_id) if entry_id is not None else None
        if entry is None:
            return
        segment_id = self._state.call_of(entry.id)
        if segment_id is not None:
            # Away, not gone: the others keep its tile for the grace (a network blip).
            self.hub.away(segment_id, entry.id, conn.outbox.push)
        now = self.ctx.clock()
        offline = rules.disconnect(entry, now)
        self._state.put(offline)
        heir = rules.successor(offline, self._state.of_link(entry.link_id))
        if heir is None:
            await self._events.publish("room.updated", offline, online=False)
            self._exits.hold_place(entry.id)
            return
        self._state.put(heir)
        who = Actor(kind="client_link", id=entry.link_id)
        await self._exits.finish(
            rules.leave(offline, now), who, "room.replace", "room.left", reason="replaced"
        )
        await self._events.record(who, "room.takeover", "room.updated", heir)
        await self._pages.send_status(heir)
        await self._pages.refresh(heir.clinician_id)

    async def device_check(self, entry_id: str, found: DeviceCheckDone) -> None:
        """What the page's device check found (on the entry, for staff to see)."""
        entry = self._state.entry(entry_id)
        had = entry.device_check
        if had is not None and (had.camera, had.microphone, had.speaker) == (
            found.camera,
            found.microphone,
            found.speaker,
        ):
            return  # said again after a reconnect: nothing changed, nothing to write
        check = DeviceCheck(
            camera=found.camera,
            microphone=found.microphone,
            speaker=found.speaker,
            at=self.ctx.clock(),
        )
        checked = replace(entry, device_check=check)
        self._state.put(checked)
        who = Actor(kind="client_link", id=entry.link_id)
        await self._events.record(who, "room.devicecheck", "room.updated", checked)

    async def connection_test(
        self, link_id: str, device_id: str, test: ConnectionTest
    ) -> RoomEntry | None:
        """A connection test's result: onto the live entry of that link and device, or
        kept until that device says hello (``None``)."""
        for entry in self._state.of_link(link_id):
            if entry.device_id == device_id:
                tested = replace(entry, connection_test=test)
                self._state.put(tested)
                who = Actor(kind="client_link", id=link_id)
                await self._events.record(who, "room.conntest", "room.updated", tested)
                return tested
        self._tests.pop((link_id, device_id), None)
        self._tests[(link_id, device_id)] = test
        while len(self._tests) > _KEPT_TESTS:
            del self._tests[next(iter(self._tests))]
        return None

    async def media(self, entry_id: str, state: Literal["connected", "failed"]) -> None:
        """The page's media connected (in session now), or its direct connection failed
        (relay it)."""
        entry = self._state.entry(entry_id)
        if state == "connected":
            entry = rules.media_connected(entry, self.ctx.clock())
            self._state.put(entry)
            await self._pages.send_status(entry)
        else:  # the direct path failed: the segment goes through the server's relay
            segment_id = self._state.call_of(entry_id)
            if segment_id is not None:
                self.hub.fall_back(segment_id)
        await self._events.publish("room.updated", entry, media=state)

    async def reply(self, entry_id: str, text: str) -> None:
        """The person answers the clinician's message: kept on the entry (staff see it in
        the room's views and a ``room.replied`` event), audited, echoed to the page; past
        the burst the page is told to wait (``reply.sent`` not accepted)."""
        entry = self._state.entry(entry_id)
        now = self.ctx.clock()
        conn = self._pages.connection(entry_id)
        try:
            answered = replies.reply(entry, text, now)
        except replies.TooManyReplies:
            if conn is not None:
                conn.outbox.push(ReplySent(text=text[: replies.MAX_REPLY], at=now, accepted=False))
            return
        self._state.put(answered)
        if conn is not None:
            conn.outbox.push(ReplySent(text=answered.replies[-1].text, at=now))
        who = Actor(kind="client_link", id=entry.link_id)
        await self._events.record(who, "room.reply", "room.replied", answered)

    def signal(self, entry_id: str, to: str, data: Any) -> None:
        """Relay a signalling payload; only admitted entries may (``NotAdmitted``)."""
        entry = self._state.get(entry_id)
        segment_id = self._state.call_of(entry_id)
        if entry is None or entry.state not in rules.IN_CALL or segment_id is None:
            raise NotAdmitted("signalling is only allowed after admission")
        self.hub.relay(segment_id, entry_id, to, data)

    async def leave(self, entry_id: str) -> None:
        """The page left: the entry ends."""
        entry = self._state.entry(entry_id)
        who = Actor(kind="client_link", id=entry.link_id)
        gone = rules.leave(entry, self.ctx.clock())
        await self._exits.finish(gone, who, "room.leave", "room.left")
