"""What the dashboard's screens ask of its state: who waits and who is in the call
(through the room filter), today's next sessions, whose a notification is, names.

Read-only queries, a base of ``DashboardState`` (tlh.tui.state) kept apart from the
changes: none of these bumps the version.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from tlh.api.rooms import EntryView
from tlh.domain.models import Appointment, Eligibility, Policy, Status
from tlh.domain.rooms import EntryState
from tlh.domain.sessions import SessionSegment

from .notices import SOMEONE, Notification, clean, people

#: Statuses whose appointment will not take place.
CANCELLED = frozenset({Status.CANCELLED, Status.LATE_CANCELLED})
#: How many of the next sessions the People screen lists when nobody waits.
NEXT_SHOWN = 8
#: How far ahead of now the next days' appointments count among the next sessions: a
#: session at 00:30 is the next one for a clinician still working at 23:30.
NEXT_REACH = timedelta(hours=6)


class StateViews:
    """The queries; the data is ``DashboardState``'s fields (declared here for typing)."""

    entries: dict[str, EntryView]
    appointments: dict[str, Appointment]
    upcoming: dict[str, Appointment]
    eligibility: dict[str, Eligibility]
    client_names: dict[str, str]
    segments: list[SessionSegment]
    notifications: list[Notification]
    unread: int
    staff_names: dict[str, str]
    room_filter: str | None
    policy: Policy | None

    def label(self, entry: EntryView) -> str:
        """Who an entry is, safe to display (control characters stripped)."""
        return clean(entry.label or entry.display_name or entry.participant.value)

    def shown(self, entry: EntryView) -> bool:
        """Whether the room filter lets an entry through."""
        return self.room_filter is None or entry.clinician_id == self.room_filter

    def room_name(self, entry: EntryView) -> str:
        """The clinician whose room the entry waits in (the shared queue has none)."""
        if entry.clinician_id is None:
            return "shared queue"
        return self.staff_names.get(entry.clinician_id, "")

    def in_session(self) -> list[EntryView]:
        """Entries let in or in the call, oldest first."""
        live = (EntryState.ADMITTED, EntryState.IN_SESSION)
        return sorted(
            (e for e in self.entries.values() if e.state in live and self.shown(e)),
            key=lambda e: e.arrived_at,
        )

    def waiting(self) -> list[EntryView]:
        """Entries waiting: returned ones first, then by arrival (the server's order)."""
        found = [
            e for e in self.entries.values() if e.state == EntryState.WAITING and self.shown(e)
        ]
        return sorted(found, key=lambda e: (e.returned_at is None, e.arrived_at))

    def next_appointment(self, now: datetime) -> Appointment | None:
        """The first of today's appointments that has not ended yet at ``now``."""
        found = self.next_sessions(now, 1)
        return found[0] if found else None

    def next_sessions(self, now: datetime, limit: int) -> list[Appointment]:
        """Today's appointments that have not ended at ``now``, then the next days' that
        start within ``NEXT_REACH`` of it (a late clinic's sessions after midnight are
        next too), cancelled ones left out, at most ``limit``, earliest first."""
        found = []
        for appt in self.appointments.values():
            if appt.end > now and appt.status not in CANCELLED:
                found.append(appt)
        for appt in self.upcoming.values():  # by start
            if appt.start > now + NEXT_REACH:
                break
            if appt.status not in CANCELLED:
                found.append(appt)
        return found[:limit]

    def time_format(self, appt: Appointment) -> str:
        """How an appointment's start is shown: its time today, its day and time later."""
        return "%H:%M" if appt.id in self.appointments else "%a %H:%M"

    def known(self, appointment_id: str | None) -> Appointment | None:
        """One of today's or the next days' appointments, by id."""
        if appointment_id is None:
            return None
        return self.appointments.get(appointment_id) or self.upcoming.get(appointment_id)

    def upcoming_for(self, entry: EntryView, now: datetime) -> Appointment | None:
        """The appointment an entry is waiting for, if it has not started yet at ``now``
        (an early arrival, waiting for an upcoming session: today's, or one just past
        midnight)."""
        appt = self.known(entry.appointment_id)
        return appt if appt is not None and appt.start > now else None

    def waiting_for(self, appointment_id: str | None) -> list[EntryView]:
        """Who is waiting for one appointment (its row shows them)."""
        return [e for e in self.waiting() if e.appointment_id == appointment_id]

    def segments_of(self, appointment_id: str) -> list[SessionSegment]:
        """Today's segments of one appointment, oldest first."""
        return [s for s in self.segments if s.appointment_id == appointment_id]

    def session_open(self, appointment_id: str | None) -> bool:
        """Whether a segment of the appointment is open now."""
        return any(s.ended_at is None for s in self.segments if s.appointment_id == appointment_id)

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

    def new_people(self) -> int:
        """How many people the unread notifications are about."""
        unread = self.notifications[-self.unread :] if self.unread else []
        return people(unread, self.entries)

    def unread_note(self) -> str:
        """``" · 2 new"`` for the status lines: the people behind the unread
        notifications (empty when nothing is new)."""
        count = self.new_people()
        return f" · {count} new" if count else ""

    def names_of(self, appt: Appointment) -> str:
        """The appointment's clients by name (``SOMEONE`` for one whose name is not
        known: never an id)."""
        return ", ".join(clean(self.client_names.get(c, SOMEONE)) for c in appt.client_ids)

    def appointment_of(self, client_id: str, now: datetime) -> Appointment | None:
        """A client's session today that has not ended (else their last one today)."""
        theirs = [a for a in self.appointments.values() if client_id in a.client_ids]
        live = [a for a in theirs if a.end > now and a.status not in CANCELLED]
        found = live or theirs[-1:]
        return found[0] if found else None
