"""What every dashboard screen is: one of the numbered screens, drawn from the state.

Each screen watches the app's ``revision`` (moved on every change of the model) and
redraws itself while it is in front; the others catch up when they come back
(``on_screen_resume``). Modal dialogs are not ``DashboardScreen``s.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from textual.screen import Screen
from textual.widgets import Static

from tlh.tui.state import DashboardState


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

    def on_screen_resume(self) -> None:
        """Catch up with changes made while another screen was open."""
        self.redraw()

    def redraw(self) -> None:
        """Show the state as it is now (after every change while in front)."""

    def show_status(self, name: str, *details: str) -> bool:
        """The status line: the screen, the connection (and why it is down), ``details``
        and the unread notifications; False before the screen is composed."""
        found = self.query("#status")
        if not found:
            return False
        parts = " · ".join([name, self.state.connection_text(), *details])
        found.first(Static).update(parts + self.state.unread_note())
        return True

    def selected_entry(self) -> str | None:
        """The room entry this screen has selected (actions on a person use it)."""
        return None

    def selected_appointment(self) -> str | None:
        """The appointment this screen has selected (actions on a session use it)."""
        return None
