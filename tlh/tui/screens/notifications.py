"""The Notifications screen: what happened today, newest first, and to whom.

Names are resolved when drawing (from the live room entries and today's clients), so
a notification that arrived before its person was known gains a name later; when none
is known it says "a client", never an id. Opening the screen marks everything read.

A row selects its person: someone still in a room (their person menu on Enter), or
else their session today (a "consent accepted" leads to starting it).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from rich.text import Text

from tlh.tui.columns import Column
from tlh.tui.screens.table import TableScreen
from tlh.tui.state import DashboardState, Notification

COLUMNS = (
    Column("Time", "time", width=8),
    Column("What", "what", share=1, least=12),
    Column("Who", "who", share=1, least=8),
)


def when(note: Notification, zone: ZoneInfo) -> str:
    """``HH:MM:SS`` in the practice's zone (blank when the event had no time)."""
    return "" if note.at is None else note.at.astimezone(zone).strftime("%H:%M:%S")


class NotificationsScreen(TableScreen):
    """Arrivals, consent, failed messages and redeemed links."""

    def __init__(self, state: DashboardState, now: Callable[[], datetime]) -> None:
        super().__init__(state, now, screen_id="notifications", columns=COLUMNS)
        #: The notification each row shows, by row key.
        self.notes: dict[str, Notification] = {}

    def redraw(self) -> None:
        """Everything in front of the user is read; the list newest first."""
        self.state.mark_read()
        notes = self.state.notifications
        if not self.show_status("Notifications", f"{len(notes)} today"):
            return  # not composed yet: on_mount draws
        if self.shown_version == self.state.version:
            return
        self.shown_version = self.state.version
        zone = ZoneInfo(self.state.zone)
        # Keys by position from the oldest kept: a row keeps its key as newer ones come.
        first = self.state.dropped_notifications
        self.notes = {f"n{first + i}": note for i, note in enumerate(notes)}
        self.show_rows(
            [
                (key, (Text(when(note, zone)), Text(note.text), Text(self.state.who(note))))
                for key, note in reversed(self.notes.items())
            ]
        )

    def note(self) -> Notification | None:
        """The notification under the cursor."""
        return self.notes.get(self.selected() or "")

    def selected_entry(self) -> str | None:
        """The person the notification is about, while they are in a room shown."""
        note = self.note()
        if note is None or note.entry_id not in self.state.entries:
            return None
        return note.entry_id

    def selected_appointment(self) -> str | None:
        """The session the notification is about: its own, else its client's today."""
        note = self.note()
        if note is None:
            return None
        if note.appointment_id in self.state.appointments:
            return note.appointment_id
        entry = self.state.entries.get(note.entry_id or "")
        if entry is not None and entry.appointment_id:
            return entry.appointment_id
        if note.client_id is not None:
            appt = self.state.appointment_of(note.client_id, self.now())
            return appt.id if appt is not None else None
        return None
