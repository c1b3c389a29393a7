"""The Schedule screen: today's appointments, their status, telehealth flag and whether
the session can start now, then the next days' (their weekday shown); plus the dialog
that explains every blocking reason."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import ClassVar
from zoneinfo import ZoneInfo

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

from tlh.domain.models import Appointment
from tlh.tui.screens.people import NEW_STYLE
from tlh.tui.screens.table import TableScreen
from tlh.tui.state import DashboardState, clean

COLUMNS = (
    ("Time", "time"),
    ("Who", "who"),
    ("Status", "status"),
    ("Tele", "tele"),
    ("Can start", "eligible"),
)


class ScheduleScreen(TableScreen):
    """Today's appointments, earliest first, then the next days'."""

    def __init__(self, state: DashboardState, now: Callable[[], datetime]) -> None:
        super().__init__(state, now, screen_id="schedule", columns=COLUMNS)

    def eligible(self, appt: Appointment) -> Text:
        """✓ / ✗ with the number of reasons / ``…`` while unknown / blank in person."""
        if appt.modality.value != "telehealth":
            return Text("")
        found = self.state.eligibility.get(appt.id)
        if found is None:
            return Text("…")
        if found.can_start:
            return Text("✓ yes", style="green")
        return Text(f"✗ {len(found.blockers)} (e)", style="red")

    def redraw(self) -> None:
        """Rebuild the table from the state, keeping the cursor where it was."""
        details = [f"{len(self.state.appointments)} today"]
        if self.state.upcoming:  # (the status line must fit 80 columns)
            details.append(f"{len(self.state.upcoming)} upcoming")
        details.append(f"{len(self.state.waiting())} waiting")
        upcoming = self.state.next_appointment(self.now())
        if upcoming is not None:
            start = upcoming.start.astimezone(ZoneInfo(self.state.zone)).strftime("%H:%M")
            details.append(f"next {start} (s starts)")
        if not self.show_status("Schedule", *details):
            return  # not composed yet: on_mount draws
        if self.shown_version == self.state.version:
            return
        self.shown_version = self.state.version
        zone = ZoneInfo(self.state.zone)
        waiting: dict[str, list[str]] = {}
        for entry in self.state.waiting():
            if entry.appointment_id is not None:
                waiting.setdefault(entry.appointment_id, []).append(entry.id)
        rows = []
        today = list(self.state.appointments.values())
        for appt in [*today, *self.state.upcoming.values()]:
            here = waiting.get(appt.id, [])
            new = any(e in self.state.highlighted for e in here)
            state = f"{appt.status.value} · waiting" if here else appt.status.value
            shown = "%H:%M" if appt.id in self.state.appointments else "%a %H:%M"
            cells = (
                Text(appt.start.astimezone(zone).strftime(shown)),
                Text(self.state.names_of(appt), style=NEW_STYLE if new else ""),
                Text(state),
                Text("tele" if appt.modality.value == "telehealth" else ""),
                self.eligible(appt),
            )
            rows.append((appt.id, cells))
        self.show_rows(rows)

    def selected_appointment(self) -> str | None:
        """The appointment under the cursor."""
        return self.selected()


class ExplainScreen(ModalScreen[None]):
    """Every reason a session cannot start (or that it can); any key closes it."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,enter,e,q", "close", "Close")]

    def __init__(self, title: str, reasons: Sequence[str]) -> None:
        super().__init__()
        self.title_text = title
        self.reasons = [clean(r) for r in reasons]

    def compose(self) -> ComposeResult:
        """The title and one line per reason."""
        with Vertical(id="explain"):
            yield Static(Text(self.title_text, style="bold"), id="explain-title")
            for reason in self.reasons or ["Nothing blocks this session."]:
                yield Static(Text(f"• {reason}"), classes="reason")
            yield Static("Esc closes", classes="hint", markup=False)

    def action_close(self) -> None:
        """Back to the screen beneath."""
        self.dismiss(None)
