"""``DashboardApp``: the clinician's terminal dashboard, keys and screens wired together.

The app only composes: the model lives in ``state``, the event stream in ``live``,
alerts in ``alerts``, the idle lock in ``lock``, the actions in ``actions`` (each one
``TlhClient`` call); the numbered screens in ``screens``.
The browser opener, the bell and the clock are injectable so tests never open a
browser or ring a real terminal.
"""

from __future__ import annotations

import gc
import webbrowser
from collections.abc import Callable, Iterable
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import msgspec
from textual import events
from textual.app import SystemCommand
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import DataTable

from .actions import Actions, Opener
from .alerts import Alerts
from .dialogs.person_menu import PersonMenu, person_actions
from .live import LiveFeed, utc_now
from .lock import TOO_MANY, IdleClock, LockScreen
from .palette import palette_commands
from .screens.notifications import NotificationsScreen
from .screens.people import PeopleScreen
from .screens.reports import ReportsScreen
from .screens.schedule import ScheduleScreen
from .screens.settings import SettingsScreen
from .settings import DashboardSettings, save
from .state import Connection, DashboardState

if TYPE_CHECKING:
    from tlh.api.events import StaffEvent
    from tlh.client import TlhClient

#: Middle-generation collections between two full ones (Python's default is 10).
FULL_GC_EVERY = 1000

#: Actions still allowed while the lock screen is up.
WHILE_LOCKED = frozenset({"unlock", "quit"})


class DashboardApp(Actions):
    """Runs the day from the keyboard: People (1), Schedule (2), Notifications (3),
    Reports (4) and Settings (5) screens."""

    CSS_PATH = Path(__file__).with_name("dashboard.tcss")
    TITLE = "tlh dashboard"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("1", "show('people')", "People", show=False),
        Binding("2", "show('schedule')", "Schedule", show=False),
        Binding("3", "show('notifications')", "Notifications", show=False),
        Binding("4", "show('reports')", "Reports", show=False),
        Binding("5", "show('settings')", "Settings", show=False),
        Binding("ctrl+l", "lock", "Lock", show=False),
        Binding("q", "quit", "Quit"),
    ]

    def __init__(
        self,
        client: TlhClient,
        *,
        opener: Opener = webbrowser.open,
        bell: Callable[[], None] | None = None,
        settings: DashboardSettings | None = None,
        settings_path: Path | None = None,
        stored_settings: DashboardSettings | None = None,
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
        #: The dashboard's settings; ``change_settings`` saves them to ``settings_path``.
        self.settings = settings = settings or DashboardSettings()
        self.settings_path = settings_path
        #: What the file holds: a save writes the fields changed on screen onto these,
        #: so a flag given for this run (``--no-sound``) is not written as the default.
        self.stored_settings = stored_settings or settings
        #: Fields changed on screen but not yet written (a save failed): the next has them.
        self._unsaved: dict[str, Any] = {}
        self.alerts = Alerts(bell or self.bell, self._toast, settings.hook, settings.sound)
        self.feed = LiveFeed(
            client, self.state, changed=self.redraw, arrived=self._arrived, now=now
        )
        self._idle_s = idle_s
        self.idle = IdleClock(idle_s if idle_s is not None else 15 * 60.0)
        self.locked = False

    # -- lifecycle --------------------------------------------------------------

    def on_mount(self) -> None:
        """Skeleton first (empty screens), then data as the worker brings it."""
        self.theme = self.settings.theme
        zone, settings = (lambda: self.feed.zone), (lambda: self.settings)
        self.install_screen(PeopleScreen(self.state, self.now, settings, zone), "people")
        self.install_screen(ScheduleScreen(self.state, self.now, zone), "schedule")
        self.install_screen(NotificationsScreen(self.state, self.now, zone), "notifications")
        self.install_screen(ReportsScreen(self.state, self.now, zone, self.client), "reports")
        self.install_screen(
            SettingsScreen(self.state, self.now, self.client, settings, self.change_settings),
            "settings",
        )
        self.push_screen("people")
        if self._greeting:
            self.notify(self._greeting, title="Try this", markup=False, timeout=300)
        # After the skeleton is painted: the event stream's first step imports aiohttp
        # (~150 ms on the event loop), which would otherwise hold the first frame back.
        self.call_after_refresh(self._start_live)
        self.set_interval(
            0.25 if self._idle_s is not None and self._idle_s < 5 else 1.0, self._check_idle
        )

    def _start_live(self) -> None:
        self.run_worker(self._live(), name="live", exclusive=True, group="live")
        self.run_worker(self._freeze_after_sync(), name="gc", group="gc")

    async def _live(self) -> None:
        await self.feed.run()
        if self.state.connection == Connection.SIGNED_OUT:
            # A revoked token will not come back by retrying: leave, the CLI says why.
            self.exit(return_code=1)

    async def _freeze_after_sync(self) -> None:
        """Once the first sync is on screen, exempt everything alive from the cyclic GC,
        and make full collections rare.

        Textual, the client and the day's data are long-lived; a full collection walks
        them all, and held the screen for 90-150 ms every few seconds while people kept
        arriving (bench/bench_dashboard.py). Young garbage is still collected as usual.
        """
        await self.feed.synced.wait()
        gc.freeze()
        young, middle, _ = gc.get_threshold()
        gc.set_threshold(young, middle, FULL_GC_EVERY)

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

    def change_settings(self, new: DashboardSettings) -> None:
        """Apply new settings at once and save the changed ones (``OSError`` when the
        file cannot be written)."""
        self._unsaved.update(
            (name, getattr(new, name))
            for name in new.__struct_fields__
            if getattr(new, name) != getattr(self.settings, name)
        )
        self.settings = new
        self.alerts.sound = new.sound
        self.theme = new.theme
        if self.settings_path is not None:
            stored = msgspec.structs.replace(self.stored_settings, **self._unsaved)
            save(stored, self.settings_path)
            self.stored_settings = stored
            self._unsaved.clear()

    # -- drawing and alerts -----------------------------------------------------

    def redraw(self) -> None:
        """The model changed: redraw the screen in front (others redraw on resume)."""
        if self._idle_s is None:
            self.idle.limit_s = self.feed.idle_logoff_min * 60.0
        screen = self.front()
        if screen is not None and screen.is_mounted:
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
        """Hide every name until unlocked (the key or the token again, per policy)."""
        if self.locked:
            return
        self.locked = True
        # Toasts are redrawn on whichever screen is in front: names must not follow.
        self.clear_notifications()

        def unlocked(ok: bool | None) -> None:
            if not ok:
                self.feed.failure = TOO_MANY  # the CLI says why, as for a revoked token
                self.exit(return_code=1)
                return
            self.locked = False
            self.idle.touch()
            self.redraw()

        lock = LockScreen(self.feed.dashboard_unlock, self.client.token_matches)
        self.push_screen(lock, unlocked)

    # -- navigation ---------------------------------------------------------------

    async def action_show(self, name: str) -> None:
        """Switch between the numbered screens (not from a dialog or the lock)."""
        screen = self.front()
        if screen is not None and screen.id != name:
            await self.switch_screen(name)

    # -- the palette and the mouse ------------------------------------------------

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        """The palette: every bound key of the dashboard, then Textual's own commands."""
        return palette_commands(self, screen, super().get_system_commands(screen))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        """Enter or a click on the highlighted People row: that person's menu."""
        entry_id = self._entry()
        entry = self.state.entries.get(entry_id or "")
        if entry is None or self.locked:
            return
        menu = PersonMenu(self.state.label(entry), person_actions(self))
        self.push_screen(menu, partial(self._picked_for, entry.id))

    async def _picked_for(self, entry_id: str, action: str | None) -> None:
        """Run what was picked in the person menu, as its key would, on that person."""
        if action is None:
            return
        if self._entry() != entry_id:
            self.notify("that person is no longer in the list", markup=False)
            return
        await self.run_action(action)
