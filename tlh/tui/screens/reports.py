"""The Reports screen: this week's sessions per day, attendance, duration and channels.

Fetched from the server's ``sessions`` and ``attendance`` reports each time the screen
opens (and on ``g``), in a worker so the dashboard never waits on it; ``tlh.tui.week``
does the counting. A refusal (a role that may not read reports, the server away) is
shown as one line in place of the figures.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, ClassVar
from zoneinfo import ZoneInfo

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Sparkline, Static

from tlh.errors import TlhError
from tlh.tui.keybar import KeyBar
from tlh.tui.screens.base import DashboardScreen
from tlh.tui.state import DashboardState
from tlh.tui.week import (
    Week,
    attendance_line,
    channels_line,
    days_line,
    duration_line,
    sessions,
    summarise,
    week_of,
)

if TYPE_CHECKING:
    from tlh.client import TlhClient

LOADING = "loading…"


class ReportsScreen(DashboardScreen):
    """This week (Monday to Sunday, in the practice's zone)."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("g", "reload", "Reload")]

    def __init__(
        self,
        state: DashboardState,
        now: Callable[[], datetime],
        client: TlhClient,
    ) -> None:
        super().__init__(state, now, screen_id="reports")
        self.client = client
        self.week: Week | None = None

    def compose(self) -> ComposeResult:
        """Status line, the chart and its numbers, the other figures, the key bar."""
        yield Static("", id="status", classes="status", markup=False)
        with Vertical(id="reports"):
            yield Static(LOADING, id="reports-message", markup=False)
            yield Static("Sessions per day", classes="heading", markup=False)
            yield Sparkline([0] * 7, id="reports-chart")
            yield Static("", id="reports-days", markup=False)
            yield Static("", id="reports-attendance", markup=False)
            yield Static("", id="reports-duration", markup=False)
            yield Static("", id="reports-channels", markup=False)
        yield KeyBar()

    def on_screen_resume(self) -> None:
        """Fetch the week again each time the screen is opened."""
        super().on_screen_resume()
        self.action_reload()

    def redraw(self) -> None:
        """The status line (connection, unread notifications)."""
        self.show_status("Reports", "g reloads")

    def action_reload(self) -> None:
        """Fetch this week's reports (a newer fetch replaces one in flight)."""
        self.query_one("#reports-message", Static).update(LOADING)
        self.load_week()

    @work(exclusive=True, group="reports")
    async def load_week(self) -> None:
        """This week's ``sessions`` and ``attendance`` rows, counted and shown."""
        today = self.now().astimezone(ZoneInfo(self.state.zone)).date()
        first, last = week_of(today)
        try:
            sessions = await self.client.reports.rows("sessions", first, last)
            attendance = await self.client.reports.rows("attendance", first, last)
        except TlhError as exc:
            self.query_one("#reports-message", Static).update(f"Reports unavailable: {exc.message}")
            return
        self.show(summarise(today, sessions, attendance))

    def show(self, week: Week) -> None:
        """Put one week's figures on screen."""
        self.week = week
        first, last = week.days[0], week.days[-1]
        self.query_one("#reports-message", Static).update(
            f"This week: {first:%a %d %b} to {last:%a %d %b} · {sessions(sum(week.sessions))}"
        )
        self.query_one("#reports-chart", Sparkline).data = list(week.sessions)
        self.query_one("#reports-days", Static).update(days_line(week))
        self.query_one("#reports-attendance", Static).update(f"Attendance: {attendance_line(week)}")
        self.query_one("#reports-duration", Static).update(
            f"Average duration: {duration_line(week)}"
        )
        self.query_one("#reports-channels", Static).update(
            f"Invite channels: {channels_line(week)}"
        )
