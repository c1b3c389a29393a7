"""What every dashboard screen is: one of the numbered screens, drawn from the state.

Each screen watches the app's ``revision`` (moved on every change of the model) and
redraws itself while it is in front; the others catch up when they come back
(``on_screen_resume``). Each ends with the ``KeyBar``: the keys that apply to what is
selected (redrawn when the selection moves) and the screens as tabs. Modal dialogs are
not ``DashboardScreen``s.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from textual.screen import Screen
from textual.widgets import DataTable, Static

from tlh.tui.keybar import KeyBar
from tlh.tui.state import Connection, DashboardState

#: What the status line adds once the stream ended for good (opened elsewhere).
READ_ONLY_HINT = "read-only: q quits"


class DashboardScreen(Screen[None]):
    """A numbered screen of the dashboard (People, Schedule, Notifications, ...)."""

    def __init__(
        self, state: DashboardState, now: Callable[[], datetime], *, screen_id: str
    ) -> None:
        super().__init__(id=screen_id)
        self.state = state
        self.now = now

    def on_mount(self) -> None:
        """Draw now, then again whenever the model changes."""
        self.watch(self.app, "revision", self._revised)

    def _revised(self) -> None:
        if self.is_active:  # under a dialog or another screen: caught up on resume
            self.redraw()
            self.refresh_keys()

    def on_screen_resume(self) -> None:
        """Catch up with changes made while another screen was open."""
        self.redraw()
        self.refresh_keys()

    def on_data_table_row_highlighted(self, _: DataTable.RowHighlighted) -> None:
        """Another row selected: other keys apply."""
        self.refresh_keys()

    def refresh_keys(self) -> None:
        """Show the keys that apply to what is selected now."""
        for bar in self.query(KeyBar):
            bar.show_keys()

    def redraw(self) -> None:
        """Show the state as it is now (after every change while in front)."""

    def show_status(self, name: str, *details: str) -> bool:
        """The status line: the screen, the connection (and why it is down), ``details``
        and the unread notifications; False before the screen is composed."""
        found = self.query("#status")
        if not found:
            return False
        hint = [READ_ONLY_HINT] if self.state.connection is Connection.SUPERSEDED else []
        parts = " · ".join([name, self.state.connection_text(), *hint, *details])
        found.first(Static).update(parts + self.state.unread_note())
        return True

    def selected_entry(self) -> str | None:
        """The room entry this screen has selected (actions on a person use it)."""
        return None

    def selected_appointment(self) -> str | None:
        """The appointment this screen has selected (actions on a session use it)."""
        return None
