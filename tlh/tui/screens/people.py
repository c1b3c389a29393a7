"""The People screen: who is in session, who is waiting (and for how long), who is
waiting for an upcoming session (early, with its start), guests; for an admin, whose
room each person waits in.

One row per live room entry. Names come from the server and are shown literally
(``rich.text.Text``, never markup) and cut to their column (the person menu shows them
whole). The timer column ticks every second: for waiting rows, how long they have
waited (warning colour past ``warn_after_min``); for rows in session, how long since
they were let in (warning colour past ``call_timer_min``). The tick also ends NEW marks
that have stood long enough and moves an early arrival among those due once their
session starts.

When nobody waits the screen shows the day instead: the next sessions today, whether
each can start, and the keys that act on the one highlighted.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import Static

from tlh.api.rooms import EntryView
from tlh.domain.rooms import EntryState
from tlh.tui.columns import Column
from tlh.tui.keybar import KeyBar
from tlh.tui.screens.cells import can_start
from tlh.tui.screens.kept_table import KeptTable
from tlh.tui.screens.table import Cells, Row, TableScreen
from tlh.tui.settings import DashboardSettings
from tlh.tui.state import DashboardState, clean
from tlh.tui.state_views import NEXT_SHOWN

MARK, WHO = Column("", "mark", width=3), Column("Who", "who", share=3, least=8)
WHERE = Column("Where", "where", width=11)
STATE = (
    Column("Timer", "since", width=6),
    Column("Consent", "consent", width=8),
    Column("Line", "line", width=10),
    Column("Devices", "device", share=1),
)
#: A clinician's own room.
COLUMNS = (MARK, WHERE, WHO, *STATE)
#: Every room (an admin's): whose room each person waits in.
ROOM_COLUMNS = (MARK, WHERE, WHO, Column("Room", "room", share=2, least=6), *STATE)
#: Nobody waiting: the next sessions today.
NEXT_COLUMNS = (
    Column("Time", "time", width=5),
    Column("Client", "who", share=1, least=8),
    Column("Can start", "eligible", width=15),
)
WARN_STYLE = "bold red"
NEW_STYLE = "bold reverse yellow"

NOBODY = (
    "Nobody is waiting. Next today — s starts the highlighted session, e explains "
    "why it cannot, Enter shows its keys; 2 shows the whole day."
)
NOTHING_LEFT = "Nobody is waiting and no session is left today; 2 shows the Schedule."


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


def line(entry: EntryView) -> str:
    """``online`` or ``offline``, and how often they reconnected (``↻2``)."""
    shown = "online" if entry.online else "offline"
    return f"{shown} ↻{entry.reconnects}" if entry.reconnects else shown


def location_line(entry: EntryView) -> str:
    """Where the person said they are (policy ``ask_location``), or nothing."""
    found = entry.location
    if found is None:
        return ""
    return f"location {clean(found.place)} · phone {clean(found.phone)}"


def person_details(state: DashboardState, entry: EntryView) -> str:
    """What the person menu says under the name: where, consent, line, devices, and
    where they said they are."""
    consent = f"consent {clean(entry.consent)}" if entry.consent else ""
    room = clean(state.room_name(entry)) if state.every_room else ""
    parts = [entry.state.value.replace("_", " "), room, consent, line(entry)]
    shown = " · ".join(p for p in [*parts, f"devices {device_summary(entry)}"] if p)
    where = location_line(entry)
    return f"{shown}\n{where}" if where else shown


class PeopleScreen(TableScreen):
    """The live waiting room (or, with nobody in it, the next sessions today)."""

    def __init__(
        self,
        state: DashboardState,
        now: Callable[[], datetime],
        settings: Callable[[], DashboardSettings],
    ) -> None:
        super().__init__(state, now, screen_id="people", columns=COLUMNS)
        self.settings = settings
        #: The early arrivals as last drawn (the tick redraws once one is due).
        self._early: frozenset[str] = frozenset()
        #: Each row's cells but the timer, with what they were made from.
        self._cells: dict[str, tuple[tuple[object, ...], Cells, Cells]] = {}

    def compose(self) -> ComposeResult:
        """Status line, the hint shown when nobody waits, the table, the key bar."""
        yield Static("", id="status", classes="status", markup=False)
        yield Static("", id="people-hint", markup=False)
        yield KeptTable(id="people-table", cursor_type="row", zebra_stripes=True)
        yield KeyBar()

    def on_mount(self) -> None:
        """Tick the waiting timers every second (the rows follow the state)."""
        self.set_interval(1.0, self.tick)

    @property
    def nobody(self) -> bool:
        """Whether the screen lists the next sessions (nobody is in a room shown)."""
        return self.columns is NEXT_COLUMNS

    def wanted_columns(self) -> tuple[Column, ...]:
        """The columns for what there is to show."""
        if self.state.loaded and not self.state.waiting() and not self.state.in_session():
            return NEXT_COLUMNS
        return ROOM_COLUMNS if self.state.every_room else COLUMNS

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
        if entry.id in self.state.denying:
            return "denying"
        if entry.state == EntryState.IN_SESSION:
            return "in session"
        if entry.state == EntryState.ADMITTED:
            return "admitted"
        if entry.second_device:
            return "2nd device"
        if entry.participant.value == "guest":
            return "guest"
        upcoming = self.state.upcoming_for(entry, now)
        if upcoming is None:
            return "waiting"
        return "early " + upcoming.start.astimezone(ZoneInfo(self.state.zone)).strftime("%H:%M")

    def redraw(self) -> None:
        """Rebuild the table from the state, keeping the cursor on the same person."""
        waiting, in_session = len(self.state.waiting()), len(self.state.in_session())
        details = [f"{waiting} waiting", f"{in_session} in session"]
        if self.state.room_filter is not None:
            details.append(f"room of {self.state.staff_names.get(self.state.room_filter, '?')}")
        if not self.show_status("People", *details):
            return  # not composed yet: on_mount draws
        columns = self.wanted_columns()
        if columns is not self.columns:
            self.lay_out(self.app.size.width, columns)  # draws again
            return
        if self.shown_version == self.state.version:
            return
        self.shown_version = self.state.version
        if self.nobody:
            self._draw_next()
        else:
            self._draw_people()

    def _draw_people(self) -> None:
        self.query_one("#people-hint", Static).display = False
        now, settings = self.now(), self.settings()
        every_room = self.state.every_room
        rows: list[Row] = []
        early = set()
        made: dict[str, tuple[tuple[object, ...], Cells, Cells]] = {}
        for entry in self.rows():
            new = entry.id in self.state.highlighted
            where = self.where(entry, now)
            if where.startswith("early"):
                early.add(entry.id)
            room = clean(self.state.room_name(entry)) if every_room else None
            # A row's cells are made again only when its entry (a new view from each
            # event about it), its mark or its place changed: with many waiting, one
            # arrival no longer rebuilds every row (the table compares them by identity).
            look = (entry, new, where, room)
            kept = self._cells.get(entry.id)
            if kept is not None and kept[0][0] is entry and kept[0][1:] == look[1:]:
                _, head, tail = kept
            else:
                head = (
                    Text("NEW", style=NEW_STYLE) if new else Text(""),
                    Text(where),
                    Text(self.state.label(entry), style=NEW_STYLE if new else ""),
                    *((Text(room),) if room is not None else ()),
                )
                tail = (
                    Text(clean(entry.consent or "-")),
                    Text(line(entry)),
                    Text(device_summary(entry)),
                )
            made[entry.id] = (look, head, tail)
            rows.append((entry.id, (*head, timer(entry, now, settings), *tail)))
        self._cells = made
        self._early = frozenset(early)
        self.show_rows(rows)

    def _draw_next(self) -> None:
        sessions = self.state.next_sessions(self.now(), NEXT_SHOWN)
        hint = self.query_one("#people-hint", Static)
        hint.display = True
        hint.update(NOBODY if sessions else NOTHING_LEFT)
        zone = ZoneInfo(self.state.zone)
        self._early = frozenset()
        self.show_rows(
            [
                (
                    appt.id,
                    (
                        # A session past midnight shows its day.
                        Text(appt.start.astimezone(zone).strftime(self.state.time_format(appt))),
                        Text(self.state.names_of(appt)),
                        can_start(self.state, appt, words=True),
                    ),
                )
                for appt in sessions
            ]
        )

    def tick(self) -> None:
        """Refresh the timers; end NEW marks that stood long enough; redraw once an
        early arrival's session is due (they move among those due)."""
        now, settings = self.now(), self.settings()
        self.state.expire_new(now)
        if self.nobody:
            return
        early = {e.id for e in self.rows() if self.where(e, now).startswith("early")}
        if early != self._early:
            self.shown_version = -1
            self.redraw()
            return
        for entry in self.state.entries.values():
            self.set_cell(entry.id, "since", timer(entry, now, settings))

    def selected_entry(self) -> str | None:
        """The person under the cursor."""
        return None if self.nobody else self.selected()

    def selected_appointment(self) -> str | None:
        """The session under the cursor, when the screen lists the next sessions."""
        return self.selected() if self.nobody else None
