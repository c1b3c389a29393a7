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
from datetime import datetime
from enum import StrEnum

import msgspec

from tlh.api.events import StaffEvent
from tlh.api.rooms import EntryView, Rooms
from tlh.domain.models import Appointment, Eligibility
from tlh.domain.rooms import EntryState

#: How many notifications the dashboard keeps (oldest dropped first).
MAX_NOTIFICATIONS = 200

#: Event types about who is in a room: a ``room.*`` event about an entry carries the
#: entry's view (as ``GET /rooms`` shows it) when this staff member may see its room.
ROOM_CHANGES = ("room.", "session.")

#: Entry states that keep a row (the others are final: the row goes).
LIVE = frozenset({EntryState.WAITING, EntryState.ADMITTED, EntryState.IN_SESSION})

#: Room events too frequent or too minor to be a notification (device checks, presence).
QUIET = frozenset({"room.updated"})

#: Notification wording per event type; ids only ever reach the model from the server.
SAYS = {
    "room.joined": "arrived",
    "room.left": "left",
    "room.reconnected": "reconnected",
    "room.admitted": "admitted",
    "room.denied": "denied",
    "room.returned": "sent back to the waiting room",
    "room.transferred": "transferred",
    "session.started": "session started",
    "session.ended": "session ended",
    "consent.accepted": "consent accepted",
    "consent.declined": "consent declined",
    "consent.revoked": "consent revoked",
    "message.failed": "message could not be sent",
    "link.redeemed": "opened their join link",
}

#: Events that are only notifications: they change nobody's place in a room.
NOTICES = frozenset(SAYS) - {k for k in SAYS if k.startswith(ROOM_CHANGES)}

#: Who a notification is about when nothing names them (never an id or a token).
SOMEONE = "a client"


class Connection(StrEnum):
    """What the status bar shows about the event stream."""

    CONNECTING = "connecting"
    LIVE = "live"
    RECONNECTING = "reconnecting"
    SUPERSEDED = "opened elsewhere"
    SIGNED_OUT = "signed out"


def clean(value: object) -> str:
    """A server string as one safe display line: control characters are dropped."""
    text = "" if value is None else str(value)
    if text.isprintable():
        return text
    return "".join(ch for ch in text if ch.isprintable())


@dataclass(frozen=True)
class Notification:
    """One line of the notification list; the ids say who it is about, when known."""

    at: datetime | None
    kind: str
    entry_id: str | None
    text: str
    client_id: str | None = None
    appointment_id: str | None = None


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
class DashboardState:
    """Everything the screens show, rebuilt from REST on every (re)connection."""

    connection: Connection = Connection.CONNECTING
    #: Why the stream is down and what happens next (shown beside the connection).
    connection_note: str = ""
    entries: dict[str, EntryView] = field(default_factory=dict)
    #: Today's appointments (practice zone), earliest first.
    appointments: dict[str, Appointment] = field(default_factory=dict)
    #: The next days' appointments, earliest first.
    upcoming: dict[str, Appointment] = field(default_factory=dict)
    eligibility: dict[str, Eligibility] = field(default_factory=dict)
    client_names: dict[str, str] = field(default_factory=dict)
    notifications: list[Notification] = field(default_factory=list)
    #: Notifications since the Notifications screen was last opened.
    unread: int = 0
    #: Entries that arrived and have not been acted on yet (highlighted rows).
    highlighted: set[str] = field(default_factory=set)
    #: The practice's time zone (IANA), from its policy: every time is shown in it.
    zone: str = "UTC"
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

    # -- snapshots ------------------------------------------------------------

    def load_rooms(self, rooms: Rooms) -> None:
        """Replace the live entries with a fresh ``GET /rooms`` answer."""
        found = [e for room in rooms.items for e in room.entries] + list(rooms.queue)
        self.entries = {e.id: e for e in found}
        self.highlighted &= {e.id for e in found if e.state == EntryState.WAITING}
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

    def set_eligibility(self, answer: Eligibility) -> None:
        """Record whether one appointment's session can start, with its reasons."""
        self.eligibility[answer.appointment_id] = answer
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
            self.notify(self._notice(event))
            self._bump()
            return Applied()
        if not event.type.startswith(ROOM_CHANGES):
            return Applied()
        entry_id = _id(event.data, "entry_id")
        refresh, dropped = False, False
        if entry_id is not None:
            refresh, dropped = self._take(entry_id, event.data.get("entry"))
        if event.type not in QUIET:
            self.notify(self._notice(event))
        arrival = None
        if (
            event.type == "room.joined"
            and entry_id is not None
            and (entry_id in self.entries or refresh)
        ):
            self.highlighted.add(entry_id)
            arrival = entry_id
        elif entry_id is not None and (event.type == "room.admitted" or dropped):
            self.highlighted.discard(entry_id)
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

    def _notice(self, event: StaffEvent) -> Notification:
        """The notification for one event; the person's ids, as far as they are known."""
        data = event.data
        entry_id = _id(data, "entry_id")
        entry = self.entries.get(entry_id) if entry_id else None
        text = SAYS.get(event.type, event.type)
        if event.type == "message.failed":
            kind = clean(data.get("kind") or "message").replace("_", " ")
            text = f"{kind} by {clean(data.get('channel'))} could not be sent"
        shown = data.get("entry")
        shown_client = _id(shown, "client_id") if isinstance(shown, dict) else None
        return Notification(
            event.at,
            event.type,
            entry_id,
            text,
            client_id=_id(data, "client_id")
            or (entry.client_id if entry else None)
            or shown_client,
            appointment_id=_id(data, "appointment_id"),
        )

    def notify(self, note: Notification) -> None:
        """Add a notification, keeping the newest ``MAX_NOTIFICATIONS``."""
        self.notifications.append(note)
        del self.notifications[:-MAX_NOTIFICATIONS]
        self.unread = min(self.unread + 1, MAX_NOTIFICATIONS)

    def mark_read(self) -> None:
        """The Notifications screen was opened: nothing is new any more."""
        if self.unread:
            self.unread = 0
            self._bump()

    def acknowledge(self, entry_id: str) -> None:
        """Stop highlighting an entry (staff acted on it)."""
        self.highlighted.discard(entry_id)
        self._bump()

    # -- views ----------------------------------------------------------------

    def label(self, entry: EntryView) -> str:
        """Who an entry is, safe to display (control characters stripped)."""
        return clean(entry.label or entry.display_name or entry.participant.value)

    def in_session(self) -> list[EntryView]:
        """Entries let in or in the call, oldest first."""
        live = (EntryState.ADMITTED, EntryState.IN_SESSION)
        return sorted(
            (e for e in self.entries.values() if e.state in live), key=lambda e: e.arrived_at
        )

    def waiting(self) -> list[EntryView]:
        """Entries waiting: returned ones first, then by arrival (the server's order)."""
        found = [e for e in self.entries.values() if e.state == EntryState.WAITING]
        return sorted(found, key=lambda e: (e.returned_at is None, e.arrived_at))

    def next_appointment(self, now: datetime) -> Appointment | None:
        """The first of today's appointments that has not ended yet at ``now``."""
        for appt in self.appointments.values():
            if appt.end > now and appt.status.value not in ("cancelled", "late_cancelled"):
                return appt
        return None

    def upcoming_for(self, entry: EntryView, now: datetime) -> Appointment | None:
        """The appointment an entry is waiting for, if it has not started yet at ``now``
        (an early arrival, waiting for an upcoming session)."""
        appt = self.appointments.get(entry.appointment_id or "")
        return appt if appt is not None and appt.start > now else None

    def waiting_for(self, appointment_id: str) -> list[EntryView]:
        """Who is waiting for one appointment (its row shows them)."""
        return [e for e in self.waiting() if e.appointment_id == appointment_id]

    def who(self, note: Notification) -> str:
        """Who a notification is about, by name; ``SOMEONE`` when no name is known."""
        entry = self.entries.get(note.entry_id) if note.entry_id else None
        if entry is not None and self.label(entry):
            return self.label(entry)
        if note.client_id in self.client_names:
            return clean(self.client_names[note.client_id]) or SOMEONE
        appt = self.appointments.get(note.appointment_id) if note.appointment_id else None
        named = (
            [self.client_names[c] for c in appt.client_ids if c in self.client_names]
            if appt
            else []
        )
        return clean(", ".join(named)) or SOMEONE

    def unread_note(self) -> str:
        """``" · 3 new"`` for the other screens' status lines (empty when nothing is new)."""
        return f" · {self.unread} new" if self.unread else ""

    def names_of(self, appt: Appointment) -> str:
        """The appointment's clients by name (ids when a name is unknown)."""
        return ", ".join(clean(self.client_names.get(c, c)) for c in appt.client_ids)


def _id(data: dict[str, object], key: str) -> str | None:
    """An id field of an event's data, if it is a string."""
    value = data.get(key)
    return value if isinstance(value, str) and value else None
