"""The dashboard's pure model: today's appointments, room entries, notifications.

No I/O and no clock: the live worker feeds it REST snapshots (``load_rooms``,
``load_schedule``) and staff events (``apply``); the screens only read it. A room event
carries its entry's view, so ``apply`` updates that row without fetching the rooms
again (and says when it must: a view it cannot read).

Every change bumps ``version`` and calls ``on_change``: the app turns that into one
``StateChanged`` message, and the screens watching it update themselves; nobody calls
a redraw by hand.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

import msgspec

from tlh.api.events import StaffEvent
from tlh.api.rooms import EntryView, Rooms
from tlh.domain.models import Appointment, Eligibility, Policy
from tlh.domain.rooms import EntryState
from tlh.domain.sessions import SessionSegment

from .notices import NOTICES, ROOM_CHANGES, SOMEONE, Notification, clean, event_id, notice_for
from .state_views import CANCELLED, StateViews

__all__ = ["CANCELLED", "SOMEONE", "Notification", "clean"]

#: How many notifications the dashboard keeps (oldest dropped first).
MAX_NOTIFICATIONS = 200

#: Entry states that keep a row (the others are final: the row goes).
LIVE = frozenset({EntryState.WAITING, EntryState.ADMITTED, EntryState.IN_SESSION})

#: Room events too frequent or too minor to be a notification (device checks, presence).
QUIET = frozenset({"room.updated"})

#: How long an arrival stays marked NEW when nobody acts on it.
NEW_FOR = timedelta(minutes=2)


class Connection(StrEnum):
    """What the status bar shows about the event stream."""

    CONNECTING = "connecting"
    LIVE = "live"
    RECONNECTING = "reconnecting"
    SUPERSEDED = "opened elsewhere"
    SIGNED_OUT = "signed out"


class Placement(StrEnum):
    """Where an appointment belongs on the Schedule."""

    TODAY = "today"
    UPCOMING = "upcoming"  # one of the next days
    GONE = "gone"  # not shown: another day, another clinician, or deleted


@dataclass(frozen=True)
class Applied:
    """What one event means for the dashboard: fetch the rooms again, ring, or nothing."""

    refresh_rooms: bool = False
    arrival: str | None = None  # the entry id of someone who just arrived
    #: Someone left, was turned away or moved out of sight: their row went.
    dropped: bool = False


@dataclass
class DashboardState(StateViews):
    """Everything the screens show, rebuilt from REST on every (re)connection."""

    connection: Connection = Connection.CONNECTING
    #: Why the stream is down and what happens next (shown beside the connection).
    connection_note: str = ""
    entries: dict[str, EntryView] = field(default_factory=dict)
    #: Whether the day was loaded once (before, nothing can be said about it).
    loaded: bool = False
    #: Today's appointments (practice zone), earliest first.
    appointments: dict[str, Appointment] = field(default_factory=dict)
    #: The next days' appointments, earliest first.
    upcoming: dict[str, Appointment] = field(default_factory=dict)
    eligibility: dict[str, Eligibility] = field(default_factory=dict)
    #: Appointments whose eligibility is being fetched now (the Schedule shows ``…``).
    checking: set[str] = field(default_factory=set)
    client_names: dict[str, str] = field(default_factory=dict)
    #: Today's session segments (the Schedule's session state and outcomes).
    segments: list[SessionSegment] = field(default_factory=list)
    notifications: list[Notification] = field(default_factory=list)
    #: How many of the oldest notifications were dropped (to keep ``MAX_NOTIFICATIONS``).
    dropped_notifications: int = 0
    #: Notifications since the Notifications screen was last opened.
    unread: int = 0
    #: Entries that arrived and have not been acted on yet, with when they arrived
    #: (marked NEW for ``NEW_FOR``).
    highlighted: dict[str, datetime] = field(default_factory=dict)
    #: Entries confirmed for a deny that can still be undone.
    denying: set[str] = field(default_factory=set)
    #: Every room is shown (an admin or scheduler), not only the caller's own.
    every_room: bool = False
    #: Staff names by id (an admin's People screen names each room).
    staff_names: dict[str, str] = field(default_factory=dict)
    #: The one room shown when every room could be (``None``: all of them).
    room_filter: str | None = None
    #: The practice's time zone (IANA), from its policy: every time is shown in it.
    zone: str = "UTC"
    #: The practice's policy, as last read (the Schedule's outcomes follow its rules).
    policy: Policy | None = None
    #: Bumped on every change, so screens can skip redrawing when nothing moved.
    version: int = 0
    #: Called after every change (the app posts one ``StateChanged`` for a burst).
    on_change: Callable[[], None] = field(default=lambda: None, repr=False, compare=False)

    def _bump(self) -> None:
        self.version += 1
        self.on_change()

    def set_zone(self, zone: str) -> None:
        """The practice's time zone changed (or was first read)."""
        if zone != self.zone:
            self.zone = zone
            self._bump()

    def set_policy(self, policy: Policy) -> None:
        """The practice's policy, read on every connection (its zone with it)."""
        self.policy = policy
        self.set_zone(policy.timezone)

    @property
    def stale(self) -> bool:
        """Whether what is shown may be out of date (the stream is not live)."""
        return self.connection is not Connection.LIVE

    # -- snapshots ------------------------------------------------------------

    def load_rooms(self, rooms: Rooms) -> None:
        """Replace the live entries with a fresh ``GET /rooms`` answer."""
        found = [e for room in rooms.items for e in room.entries] + list(rooms.queue)
        self.entries = {e.id: e for e in found}
        waiting = {e.id for e in found if e.state == EntryState.WAITING}
        self.highlighted = {k: v for k, v in self.highlighted.items() if k in waiting}
        self.denying &= waiting
        self._bump()

    def load_schedule(
        self,
        appointments: Iterable[Appointment],
        client_names: dict[str, str],
        upcoming: Iterable[Appointment] = (),
    ) -> None:
        """Replace today's and the next days' appointments (eligibility is kept until
        refreshed)."""
        self.appointments = {a.id: a for a in sorted(appointments, key=lambda a: a.start)}
        # One running past midnight overlaps tomorrow too: it is listed once, today.
        self.upcoming = {
            a.id: a
            for a in sorted(upcoming, key=lambda a: a.start)
            if a.id not in self.appointments
        }
        self.client_names = dict(client_names)
        self.loaded = True
        self._bump()

    def load_sessions(self, segments: Iterable[SessionSegment]) -> None:
        """Replace today's session segments."""
        self.segments = sorted(segments, key=lambda s: s.started_at)
        self._bump()

    def load_staff(self, names: dict[str, str]) -> None:
        """The staff's names (rooms are named after their clinician)."""
        self.staff_names = {k: clean(v) for k, v in names.items()}
        self._bump()

    def place_appointment(
        self, appt_id: str, appt: Appointment | None, placement: Placement
    ) -> None:
        """Put one changed appointment where it now belongs (or take it off)."""
        self.appointments.pop(appt_id, None)
        self.upcoming.pop(appt_id, None)
        if appt is not None and placement is not Placement.GONE:
            day = self.appointments if placement is Placement.TODAY else self.upcoming
            day[appt_id] = appt
            ordered = sorted(day.values(), key=lambda a: a.start)
            day.clear()
            day.update((a.id, a) for a in ordered)
        if placement is not Placement.TODAY:
            self.eligibility.pop(appt_id, None)
        self._bump()

    def replace_appointment(self, appt: Appointment) -> None:
        """A changed copy of an appointment shown today or on a next day, in its place."""
        for day in (self.appointments, self.upcoming):
            if appt.id in day:
                day[appt.id] = appt
                self._bump()
                return

    def checking_eligibility(self, appt_ids: Iterable[str]) -> None:
        """Whether these sessions can start is being asked now."""
        self.checking.update(appt_ids)
        self._bump()

    def set_eligibility(self, answer: Eligibility) -> None:
        """Record whether one appointment's session can start, with its reasons."""
        self.eligibility[answer.appointment_id] = answer
        self.checking.discard(answer.appointment_id)
        self._bump()

    def eligibility_unknown(self, appt_id: str) -> None:
        """The question could not be answered (the Schedule stops showing ``…``)."""
        self.checking.discard(appt_id)
        self._bump()

    def set_connection(self, connection: Connection, note: str = "") -> None:
        """Note the event stream's state, and why (the status bar shows both)."""
        if (connection, note) != (self.connection, self.connection_note):
            self.connection, self.connection_note = connection, clean(note)
            self._bump()

    def connection_text(self) -> str:
        """The connection as the status lines show it: ``live``, or ``reconnecting (why)``."""
        note = f" ({self.connection_note})" if self.connection_note else ""
        return f"{self.connection.value}{note}"

    # -- events ---------------------------------------------------------------

    def apply(self, event: StaffEvent) -> Applied:
        """Take one staff event into the model; what the caller must do next."""
        if event.type in NOTICES:
            self.notify(notice_for(event, self.entries))
            self._bump()
            return Applied()
        if not event.type.startswith(ROOM_CHANGES):
            return Applied()
        entry_id = event_id(event.data, "entry_id")
        refresh, dropped = False, False
        if entry_id is not None:
            refresh, dropped = self._take(entry_id, event.data.get("entry"))
        if event.type not in QUIET:
            self.notify(notice_for(event, self.entries))
        arrival = None
        if (
            event.type == "room.joined"
            and entry_id is not None
            and (entry_id in self.entries or refresh)
        ):
            entry = self.entries.get(entry_id)
            at = event.at or (entry.arrived_at if entry is not None else None)
            if at is not None:
                self.highlighted[entry_id] = at
            arrival = entry_id
        elif entry_id is not None and (event.type == "room.admitted" or dropped):
            self.highlighted.pop(entry_id, None)
            self.denying.discard(entry_id)
        self._bump()
        return Applied(refresh_rooms=refresh, arrival=arrival, dropped=dropped)

    def _take(self, entry_id: str, view: object) -> tuple[bool, bool]:
        """Put an event's entry view in its row, or take the row off: the entry ended,
        or the event came without a view (it moved to a room this dashboard does not
        show). Whether the rooms must be fetched (a view that cannot be read), and
        whether a row went."""
        if view is not None:
            try:
                entry = msgspec.convert(view, EntryView)
            except msgspec.ValidationError:
                return True, False
            if entry.id == entry_id and entry.state in LIVE:
                self.entries[entry_id] = entry
                return False, False
        return False, self.entries.pop(entry_id, None) is not None

    def notify(self, note: Notification) -> None:
        """Add a notification, keeping the newest ``MAX_NOTIFICATIONS``."""
        self.notifications.append(note)
        over = len(self.notifications) - MAX_NOTIFICATIONS
        if over > 0:
            del self.notifications[:over]
            self.dropped_notifications += over
        self.unread = min(self.unread + 1, MAX_NOTIFICATIONS)

    def mark_read(self) -> None:
        """The Notifications screen was opened: nothing is new any more."""
        if self.unread:
            self.unread = 0
            self._bump()

    def acknowledge(self, entry_id: str) -> None:
        """Stop highlighting an entry (staff acted on it)."""
        self.highlighted.pop(entry_id, None)
        self._bump()

    def expire_new(self, now: datetime) -> None:
        """Arrivals marked NEW for ``NEW_FOR`` are not new any more."""
        old = [k for k, at in self.highlighted.items() if now - at >= NEW_FOR]
        for key in old:
            del self.highlighted[key]
        if old:
            self._bump()

    def set_denying(self, entry_id: str, denying: bool) -> None:
        """Mark (or unmark) an entry as about to be denied (an undo is still possible)."""
        if denying:
            self.denying.add(entry_id)
        else:
            self.denying.discard(entry_id)
        self._bump()

    def filter_rooms(self, clinician_id: str | None) -> None:
        """Show one clinician's room only (``None``: every room)."""
        self.room_filter = clinician_id
        self._bump()
