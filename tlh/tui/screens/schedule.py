"""The Schedule screen: today's appointments, the one now (marked ``▶``, the cursor put
on it when the day is first shown), each one's status in words, its session's state
(in session, waiting, ended, no-show) and whether it can start; then the next days'
(their weekday shown).

The marker and the session states move with the clock: the screen looks again every
``RECHECK_S`` seconds, and redraws only the cells that changed.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from rich.text import Text

from tlh.tui.columns import Column
from tlh.tui.screens.cells import can_start, session_state, status_name
from tlh.tui.screens.people import NEW_STYLE
from tlh.tui.screens.table import Row, TableScreen
from tlh.tui.state import DashboardState

COLUMNS = (
    Column("", "now", width=1),
    Column("Time", "time", width=9),
    Column("Who", "who", share=1, least=8),
    Column("Status", "status", width=14),
    Column("Session", "session", width=10),
    Column("Tele", "tele", width=4),
    Column("Can start", "eligible", width=9),
)
NOW_MARK = "▶"
#: How often the screen looks whether the clock moved the marker or a session state.
RECHECK_S = 30.0


class ScheduleScreen(TableScreen):
    """Today's appointments, earliest first, then the next days'."""

    def __init__(self, state: DashboardState, now: Callable[[], datetime]) -> None:
        super().__init__(state, now, screen_id="schedule", columns=COLUMNS)
        #: Whether the cursor was put on the current slot yet (once: then it is the user's).
        self._placed = False

    def on_mount(self) -> None:
        """Look again as the clock moves (the marker, a session that ended unattended)."""
        self.set_interval(RECHECK_S, self.recheck)

    def recheck(self) -> None:
        """Redraw what the clock changed (only changed cells are touched)."""
        self.shown_version = -1
        self.redraw()

    def redraw(self) -> None:
        """Rebuild the table from the state, keeping the cursor where it was."""
        details = [f"{len(self.state.appointments)} today"]
        if self.state.upcoming:  # (the status line must fit 80 columns)
            details.append(f"{len(self.state.upcoming)} upcoming")
        details.append(f"{len(self.state.waiting())} waiting")
        now = self.now()
        current = self.state.next_appointment(now)
        if current is not None:
            shown = self.state.time_format(current)
            start = current.start.astimezone(ZoneInfo(self.state.zone)).strftime(shown)
            details.append(f"next {start} (s starts)")
        if not self.show_status("Schedule", *details):
            return  # not composed yet: on_mount draws
        if self.shown_version == self.state.version:
            return
        self.shown_version = self.state.version
        zone = ZoneInfo(self.state.zone)
        rows: list[Row] = []
        today = list(self.state.appointments.values())
        for appt in [*today, *self.state.upcoming.values()]:
            new = any(e.id in self.state.highlighted for e in self.state.waiting_for(appt.id))
            shown = self.state.time_format(appt)
            cells = (
                Text(NOW_MARK if current is not None and appt.id == current.id else ""),
                Text(appt.start.astimezone(zone).strftime(shown)),
                Text(self.state.names_of(appt), style=NEW_STYLE if new else ""),
                Text(status_name(appt)),
                Text(session_state(self.state, appt, now)),
                Text("tele" if appt.modality.value == "telehealth" else ""),
                can_start(self.state, appt),
            )
            rows.append((appt.id, cells))
        self.show_rows(rows)
        if not self._placed and current is not None and current.id in self.table.rows:
            self._placed = True
            self.table.move_cursor(row=self.table.get_row_index(current.id))

    def selected_appointment(self) -> str | None:
        """The appointment under the cursor."""
        return self.selected()
