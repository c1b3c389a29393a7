"""The People screen: who is in session, who is waiting (and for how long), who is
waiting for an upcoming session (early, with its start), guests.

One row per live room entry. Names come from the server and are shown literally
(``rich.text.Text``, never markup). The timer column ticks every second: for waiting
rows, how long they have waited (warning colour past ``warn_after_min``); for rows in
session, how long since they were let in (warning colour past ``call_timer_min``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from rich.text import Text

from tlh.api.rooms import EntryView
from tlh.domain.rooms import EntryState
from tlh.tui.screens.table import TableScreen
from tlh.tui.settings import DashboardSettings
from tlh.tui.state import DashboardState, clean

COLUMNS = (
    ("", "mark"),
    ("Where", "where"),
    ("Who", "who"),
    ("Timer", "since"),
    ("Consent", "consent"),
    ("Devices", "device"),
    ("Line", "line"),
    ("Flags", "flags"),
)
WARN_STYLE = "bold red"
NEW_STYLE = "bold reverse yellow"


def elapsed(since: datetime, now: datetime, warn_after_s: float) -> Text:
    """``m:ss`` since ``since``, in the warning colour past the threshold."""
    seconds = max(0, int((now - since).total_seconds()))
    shown = f"{seconds // 60:d}:{seconds % 60:02d}"
    return Text(shown, style=WARN_STYLE if seconds >= warn_after_s else "")


def timer(entry: EntryView, now: datetime, settings: DashboardSettings) -> Text:
    """Waiting: time since arrival; admitted or in session: time since let in (not since
    their media connected, which would restart the call's clock)."""
    if entry.state == EntryState.WAITING:
        return elapsed(entry.arrived_at, now, settings.warn_after_min * 60)
    if entry.state in (EntryState.ADMITTED, EntryState.IN_SESSION):
        return elapsed(entry.admitted_at or entry.state_since, now, settings.call_timer_min * 60)
    return Text("")


def device_summary(entry: EntryView) -> str:
    """``ok`` when camera and microphone passed, else what failed; ``-`` when unknown."""
    check = entry.device_check
    if check is None:
        found = "-"
    elif check.camera == "ok" and check.microphone == "ok":
        found = "ok"
    else:
        found = f"cam {check.camera}, mic {check.microphone}"
    if entry.connection_test is not None:
        found += f" / net {entry.connection_test.verdict}"
    return clean(found)


class PeopleScreen(TableScreen):
    """The live waiting room."""

    def __init__(
        self,
        state: DashboardState,
        now: Callable[[], datetime],
        settings: Callable[[], DashboardSettings],
    ) -> None:
        super().__init__(state, now, screen_id="people", columns=COLUMNS)
        self.settings = settings

    def on_mount(self) -> None:
        """Tick the waiting timers every second (the rows follow the state)."""
        self.set_interval(1.0, self.tick)

    def rows(self) -> list[EntryView]:
        """In session first, then waiting clients and contacts whose session is due, then
        those early for an upcoming one (soonest first), then waiting guests."""
        now = self.now()
        waiting = self.state.waiting()
        guests = [e for e in waiting if e.participant.value == "guest"]
        people = [e for e in waiting if e not in guests]
        starts = {
            e.id: appt.start
            for e in people
            if (appt := self.state.upcoming_for(e, now)) is not None
        }
        early = sorted((e for e in people if e.id in starts), key=lambda e: starts[e.id])
        due = [e for e in people if e.id not in starts]
        return self.state.in_session() + due + early + guests

    def where(self, entry: EntryView, now: datetime) -> str:
        """The section a row belongs to; an early arrival shows when their session starts."""
        if entry.state == EntryState.IN_SESSION:
            return "in session"
        if entry.state == EntryState.ADMITTED:
            return "admitted"
        if entry.participant.value == "guest":
            return "guest"
        upcoming = self.state.upcoming_for(entry, now)
        if upcoming is None:
            return "waiting"
        return "early " + upcoming.start.astimezone(ZoneInfo(self.state.zone)).strftime("%H:%M")

    def redraw(self) -> None:
        """Rebuild the table from the state, keeping the cursor on the same person."""
        waiting, in_session = len(self.state.waiting()), len(self.state.in_session())
        if not self.show_status("People", f"{waiting} waiting", f"{in_session} in session"):
            return  # not composed yet: on_mount draws
        if self.shown_version == self.state.version:
            return
        self.shown_version = self.state.version
        now, settings = self.now(), self.settings()
        rows = []
        for entry in self.rows():
            new = entry.id in self.state.highlighted
            flags = "2nd device" if entry.second_device else ""
            if entry.reconnects:
                flags = f"{flags} ↻{entry.reconnects}".strip()
            cells = (
                Text("NEW", style=NEW_STYLE) if new else Text(""),
                Text(self.where(entry, now)),
                Text(self.state.label(entry), style=NEW_STYLE if new else ""),
                timer(entry, now, settings),
                Text(clean(entry.consent or "-")),
                Text(device_summary(entry)),
                Text("online" if entry.online else "reconnecting"),
                Text(flags),
            )
            rows.append((entry.id, cells))
        self.show_rows(rows)

    def tick(self) -> None:
        """Refresh the timer cells (waiting and in-session timers)."""
        now, settings = self.now(), self.settings()
        for entry in self.state.entries.values():
            self.set_cell(entry.id, "since", timer(entry, now, settings))

    def selected_entry(self) -> str | None:
        """The person under the cursor."""
        return self.selected()
