"""``DashboardApp``: the clinician's terminal dashboard, keys and screens wired together.

The app only composes: the model lives in ``state``, the event stream in ``live``,
alerts in ``alerts``, the idle lock in ``lock``, the actions in ``actions`` (each one
``TlhClient`` call); the numbered screens in ``screens``.
The browser opener, the bell and the clock are injectable so tests never open a
browser or ring a real terminal.
"""

from __future__ import annotations

import webbrowser
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from textual import events
from textual.binding import Binding, BindingType

from .actions import Actions, Opener
from .alerts import Alerts
from .live import LiveFeed, utc_now
from .lock import IdleClock, LockScreen
from .screens.base import DashboardScreen
from .screens.people import PeopleScreen
from .screens.schedule import ScheduleScreen
from .state import Connection, DashboardState

if TYPE_CHECKING:
    from tlh.client import TlhClient
    from tlh.client.rooms import StaffEvent

#: Actions still allowed while the lock screen is up.
WHILE_LOCKED = frozenset({"unlock", "quit"})


class DashboardApp(Actions):
    """Runs the day from the keyboard: People (1) and Schedule (2) screens."""

    CSS_PATH = Path(__file__).with_name("dashboard.tcss")
    TITLE = "tlh dashboard"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("1", "show('people')", "People"),
        Binding("2", "show('schedule')", "Schedule"),
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
        if isinstance(screen, DashboardScreen) and screen.is_mounted:
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
        """Switch between the numbered screens (not from a dialog or the lock)."""
        if not isinstance(self.screen, DashboardScreen):
            return
        if self.screen.id != name:
            await self.switch_screen(name)
