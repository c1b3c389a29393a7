"""``DashboardApp``: the clinician's terminal dashboard, keys and screens wired together.

The app only composes: the model lives in ``state``, the event stream in ``live``,
alerts in ``alerts``, the idle lock in ``lock``; every action is one ``TlhClient`` call.
The browser opener, the bell and the clock are injectable so tests never open a
browser or ring a real terminal.
"""

from __future__ import annotations

import webbrowser
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from textual import events
from textual.app import App
from textual.binding import Binding, BindingType

from tlh.errors import TlhError

from .alerts import Alerts
from .live import LiveFeed, utc_now
from .lock import IdleClock, LockScreen
from .screens.people import PeopleScreen
from .screens.schedule import ExplainScreen, ScheduleScreen
from .state import Connection, DashboardState

if TYPE_CHECKING:
    from tlh.client import TlhClient
    from tlh.client.rooms import StaffEvent

Opener = Callable[[str], bool]

#: Actions still allowed while the lock screen is up.
WHILE_LOCKED = frozenset({"unlock", "quit"})


class DashboardApp(App[None]):
    """Runs the day from the keyboard: People (1) and Schedule (2) screens."""

    CSS_PATH = Path(__file__).with_name("dashboard.tcss")
    TITLE = "tlh dashboard"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("1", "show('people')", "People"),
        Binding("2", "show('schedule')", "Schedule"),
        Binding("a", "admit", "Admit"),
        Binding("A", "admit_all", "Admit all"),
        Binding("d", "deny", "Deny"),
        Binding("r", "send_back", "Send back"),
        Binding("n", "call_next", "Next"),
        Binding("s", "start_session", "Start"),
        Binding("e", "explain", "Explain"),
        Binding("ctrl+l", "lock", "Lock"),
        Binding("q", "quit", "Quit"),
    ]

    def __init__(
        self,
        client: TlhClient,
        *,
        opener: Opener = webbrowser.open,
        bell: Callable[[], None] | None = None,
        hook: Sequence[str] = (),
        sound: bool = True,
        warn_after_s: float = 600.0,
        idle_s: float | None = None,
        now: Callable[[], datetime] = utc_now,
        greeting: str | None = None,
    ) -> None:
        super().__init__()
        #: Shown once at start (the demo's "open this client link" hint).
        self._greeting = greeting
        self.client = client
        self.opener = opener
        self.now = now
        self.state = DashboardState()
        self.alerts = Alerts(bell or self.bell, self._toast, hook, sound)
        self.feed = LiveFeed(
            client, self.state, changed=self.redraw, arrived=self._arrived, now=now
        )
        self.warn_after_s = warn_after_s
        self._idle_s = idle_s
        self.idle = IdleClock(idle_s if idle_s is not None else 15 * 60.0)
        self.locked = False

    # -- lifecycle --------------------------------------------------------------

    def on_mount(self) -> None:
        """Skeleton first (empty screens), then data as the worker brings it."""
        self.install_screen(PeopleScreen(self.state, self.now, self.warn_after_s), "people")
        self.install_screen(
            ScheduleScreen(self.state, self.now, lambda: self.feed.zone), "schedule"
        )
        self.push_screen("people")
        if self._greeting:
            self.notify(self._greeting, title="Try this", markup=False, timeout=300)
        self.run_worker(self._live(), name="live", exclusive=True, group="live")
        self.set_interval(
            0.25 if self._idle_s is not None and self._idle_s < 5 else 1.0, self._check_idle
        )

    async def _live(self) -> None:
        await self.feed.run()
        if self.state.connection == Connection.SIGNED_OUT:
            # A revoked token will not come back by retrying: leave, the CLI says why.
            self.exit(return_code=1)

    async def on_unmount(self) -> None:
        """Stop hooks still running."""
        await self.alerts.close()

    async def on_event(self, event: events.Event) -> None:
        """Any key or click counts as activity for the idle lock."""
        if isinstance(event, events.InputEvent) and not event.is_forwarded:
            self.idle.touch()
        await super().on_event(event)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """While locked only unlocking (and quitting) works."""
        return not self.locked or action in WHILE_LOCKED

    # -- drawing and alerts -----------------------------------------------------

    def redraw(self) -> None:
        """The model changed: redraw the screen in front (others redraw on resume)."""
        if self._idle_s is None:
            self.idle.limit_s = self.feed.idle_logoff_min * 60.0
        screen = self.screen
        if isinstance(screen, PeopleScreen | ScheduleScreen) and screen.is_mounted:
            screen.redraw()

    def _toast(self, text: str) -> None:
        self.notify(text, title="Arrival", markup=False, timeout=8)

    def _arrived(self, entry_id: str, event: StaffEvent) -> None:
        entry = self.state.entries.get(entry_id)
        label = self.state.label(entry) if entry is not None else "Someone"
        self.alerts.arrival("Someone" if self.locked else label, event)

    # -- the lock -------------------------------------------------------------

    def _check_idle(self) -> None:
        if not self.locked and self.idle.expired():
            self.action_lock()

    def action_lock(self) -> None:
        """Hide every name until the unlock key is pressed."""
        if self.locked:
            return
        self.locked = True
        # Toasts are redrawn on whichever screen is in front: names must not follow.
        self.clear_notifications()

        def unlocked(_: None) -> None:
            self.locked = False
            self.idle.touch()
            self.redraw()

        self.push_screen(LockScreen(), unlocked)

    # -- navigation ---------------------------------------------------------------

    async def action_show(self, name: str) -> None:
        """Switch between the People and Schedule screens."""
        if not isinstance(self.screen, PeopleScreen | ScheduleScreen):
            return
        if self.screen.id != name:
            await self.switch_screen(name)

    def _entry(self) -> str | None:
        screen = self.screen
        return screen.selected() if isinstance(screen, PeopleScreen) else None

    def _appointment(self) -> str | None:
        screen = self.screen
        if isinstance(screen, ScheduleScreen):
            return screen.selected()
        entry_id = self._entry()
        entry = self.state.entries.get(entry_id) if entry_id else None
        if entry is not None:
            return entry.appointment_id
        upcoming = self.state.next_appointment(self.now())
        return upcoming.id if upcoming else None

    # -- actions (each one TlhClient call, errors shown as a toast) -------------

    async def _do(self, what: Callable[[], Any]) -> Any:
        try:
            return await what()
        except TlhError as exc:
            self.notify(exc.message, title="Not done", severity="error", markup=False)
            return None

    def open_call(self, url: str) -> None:
        """Open the call page in the browser, or show the URL when there is none."""
        try:
            opened = self.opener(url)
        except Exception:  # webbrowser may raise on odd platforms: show the URL instead
            opened = False
        if not opened:
            self.notify(f"Open the call: {url}", title="No browser", markup=False, timeout=60)

    async def _call_page(self, appointment_id: str | None) -> None:
        link = await self._do(lambda: self.client.call_link(appointment_id))
        if link is not None:
            self.open_call(link.url)

    async def action_admit(self) -> None:
        """Admit the selected person and open the call page."""
        entry_id = self._entry()
        if entry_id is None:
            return
        done = await self._do(lambda: self.client.room_admit(entry_id))
        if done is not None:
            self.state.acknowledge(entry_id)
            await self._refresh_rooms()
            await self._call_page(done.appointment_id)

    async def action_admit_all(self) -> None:
        """Admit everyone waiting in the caller's room."""
        done = await self._do(self.client.room_admit_all)
        if done is not None:
            self.notify(f"admitted {len(done.admitted)}", markup=False)
            await self._refresh_rooms()
            if done.admitted:
                await self._call_page(done.admitted[0].appointment_id)

    async def action_deny(self) -> None:
        """Turn the selected person away."""
        entry_id = self._entry()
        if entry_id is not None and await self._do(lambda: self.client.room_deny(entry_id)):
            self.state.acknowledge(entry_id)
            await self._refresh_rooms()

    async def action_send_back(self) -> None:
        """Send the selected person back to the waiting room."""
        entry_id = self._entry()
        if entry_id is not None and await self._do(lambda: self.client.room_return(entry_id)):
            await self._refresh_rooms()

    async def action_call_next(self) -> None:
        """Admit the next person in line and open the call page."""
        done = await self._do(self.client.room_next)
        if done is not None:
            self.state.acknowledge(done.id)
            await self._refresh_rooms()
            await self._call_page(done.appointment_id)

    async def action_start_session(self) -> None:
        """Start the selected (or next) appointment's session and open the call page."""
        appt_id = self._appointment()
        if appt_id is None:
            self.notify("no appointment selected", markup=False)
            return
        try:
            started = await self.client.session_start(appt_id)
        except TlhError as exc:
            reasons = (
                [
                    str(d.get("message", d)) if isinstance(d, dict) else str(d)
                    for d in (exc.details or [])
                ]
                if isinstance(exc.details, list)
                else []
            )
            if reasons:
                self.push_screen(ExplainScreen(exc.message, reasons))
            else:
                self.notify(exc.message, title="Not started", severity="error", markup=False)
            return
        self.open_call(started.url)

    async def action_explain(self) -> None:
        """Show every reason the selected appointment's session cannot start."""
        appt_id = self._appointment()
        if appt_id is None:
            self.notify("no appointment selected", markup=False)
            return
        found = await self._do(lambda: self.client.eligibility(appt_id))
        if found is None:
            return
        self.state.set_eligibility(found)
        title = "The session can start." if found.can_start else "The session cannot start:"
        self.push_screen(ExplainScreen(title, [b.message for b in found.blockers]))

    async def _refresh_rooms(self) -> None:
        rooms = await self._do(self.client.rooms)
        if rooms is not None:
            self.state.load_rooms(rooms)
            self.redraw()
