"""The Notifications screen: what happened today, newest first, and to whom.

Names are resolved when drawing (from the live room entries and today's clients), so
a notification that arrived before its person was known gains a name later; when none
is known it says "a client", never an id. Opening the screen marks everything read.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from rich.text import Text

from tlh.tui.screens.table import TableScreen
from tlh.tui.state import DashboardState, Notification

COLUMNS = (("Time", "time"), ("What", "what"), ("Who", "who"))


def when(note: Notification, zone: ZoneInfo) -> str:
    """``HH:MM:SS`` in the practice's zone (blank when the event had no time)."""
    return "" if note.at is None else note.at.astimezone(zone).strftime("%H:%M:%S")


class NotificationsScreen(TableScreen):
    """Arrivals, consent, failed messages and redeemed links."""

    def __init__(self, state: DashboardState, now: Callable[[], datetime]) -> None:
        super().__init__(state, now, screen_id="notifications", columns=COLUMNS)

    def redraw(self) -> None:
        """Everything in front of the user is read; rebuild the list newest first."""
        self.state.mark_read()
        notes = self.state.notifications
        if not self.show_status("Notifications", f"{len(notes)} today"):
            return  # not composed yet: on_mount draws
        if self.shown_version == self.state.version:
            return
        self.shown_version = self.state.version
        table = self.table
        table.clear()
        zone = ZoneInfo(self.state.zone)
        for note in reversed(notes):
            table.add_row(Text(when(note, zone)), Text(note.text), Text(self.state.who(note)))
