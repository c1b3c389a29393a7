"""``DashboardApp``: the clinician's terminal dashboard, keys and screens wired together.

The app only composes: the model lives in ``state`` (its changes come up as a
``StateChanged`` message and move the ``revision`` reactive the screens watch), the
event stream in ``live`` (a worker), alerts in ``alerts``, the idle lock in ``lock``, the
actions in the ``actions`` collaborators (each one ``TlhClient`` call, bound to keys in
``actions.keys``) acting through ``screen_ui``; the numbered screens in ``screens``.
Which keys apply to what is selected is ``applicable``'s rule, applied by ``key_gate``:
the key bar lists them, the menus offer them, and a key that does not apply says what it
needs.
The browser opener, the bell and the clock are injectable so tests never open a
browser or ring a real terminal.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import webbrowser
from collections.abc import Callable, Iterable
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import msgspec
from textual import events, work
from textual.app import App, SystemCommand
from textual.binding import BindingType
from textual.reactive import reactive
from textual.screen import Screen
from textual.widgets import DataTable

from tlh.domain.models import DashboardUnlock, Policy

from .actions.keys import APP_KEYS, bound
from .actions.outreach import OutreachActions
from .actions.rooms import RoomActions
from .actions.sessions import SessionActions
from .alerts import Alerts
from .dialogs.person_menu import PERSON_MARK, SESSION_MARK, PersonMenu, menu_actions
from .first_look import FirstLook, utc_now
from .key_gate import KeyGate
from .keybar import Key
from .live import LiveFeed
from .lock import TOO_MANY, IdleClock, LockScreen
from .messages import EntryArrived, PolicyLoaded, StateChanged, StreamEnded
from .palette import palette_commands
from .screen_ui import Opener, ScreenUi
from .screens.notifications import NotificationsScreen
from .screens.people import PeopleScreen, person_details
from .screens.reports import ReportsScreen
from .screens.schedule import ScheduleScreen
from .screens.settings import SettingsScreen
from .settings import DashboardSettings, save
from .state import Connection, DashboardState

if TYPE_CHECKING:
    from tlh.client import TlhClient

#: Middle-generation collections between two full ones (Python's default is 10).
FULL_GC_EVERY = 1000

#: Actions still allowed while the lock screen is up.
WHILE_LOCKED = frozenset({"unlock", "quit"})
#: The longest the dashboard waits, closing, to send the denies not yet sent.
FLUSH_S = 3.0


class DashboardApp(App[None]):
    """Runs the day from the keyboard: People (1), Schedule (2), Notifications (3),
    Reports (4) and Settings (5) screens."""

    CSS_PATH = Path(__file__).with_name("dashboard.tcss")
    TITLE = "tlh dashboard"
    BINDINGS: ClassVar[list[BindingType]] = APP_KEYS

    #: ``state.version`` as last announced: the screens watch it and redraw themselves.
    revision: reactive[int] = reactive(0, init=False, repaint=False)

    action_admit = bound("rooms", RoomActions.admit)
    action_approve_device = bound("rooms", RoomActions.approve_device)
    action_undo = bound("rooms", RoomActions.undo)
    action_filter_rooms = bound("rooms", RoomActions.filter_rooms)
    action_admit_all = bound("rooms", RoomActions.admit_all)
    action_deny = bound("rooms", RoomActions.deny)
    action_send_back = bound("rooms", RoomActions.send_back)
    action_call_next = bound("rooms", RoomActions.call_next)
    action_message = bound("rooms", RoomActions.message)
    action_message_all = bound("rooms", RoomActions.message_all)
    action_transfer = bound("rooms", RoomActions.transfer)
    action_start_session = bound("sessions", SessionActions.start_session)
    action_explain = bound("sessions", SessionActions.explain)
    action_end_session = bound("sessions", SessionActions.end_session)
    action_set_status = bound("sessions", SessionActions.set_status)
    action_send_link = bound("outreach", OutreachActions.send_link)
    action_send_consent = bound("outreach", OutreachActions.send_consent)
    action_verbal_consent = bound("outreach", OutreachActions.verbal_consent)

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
        first_look: FirstLook | None = None,
    ) -> None:
        super().__init__()
        #: Shown once at start (the demo's "open this client link" hint).
        self._greeting = greeting
        self.client = client
        self.now = now
        #: The day fetched while the code loaded (``tlh dashboard`` starts it): the first
        #: frame waits for it, and the dashboard goes on with its state.
        self._first_look = first_look
        self.state = first_look.state if first_look is not None else DashboardState()
        self.state.on_change = self._state_changed
        self._change_announced = False
        self.locked = False
        #: What unlocks the idle lock (the practice's policy, read on every connection).
        self.unlock_mode = DashboardUnlock.KEY
        self.ui = ScreenUi(self, opener, lambda: self.locked)
        acting = (client, self.state, self.ui, now)
        self.rooms = RoomActions(*acting)
        self.sessions = SessionActions(*acting)
        self.outreach = OutreachActions(*acting)
        self.gate = KeyGate(
            APP_KEYS,
            self.state,
            self.ui,
            self.rooms,
            self.sessions,
            display=self.get_key_display,
            say=lambda text, title: self.notify(text, title=title, markup=False),
        )
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
            client,
            self.state,
            post=self.post_message,
            now=now,
            schedule=first_look.schedule if first_look is not None else None,
        )
        self._idle_s = idle_s
        self.idle = IdleClock(idle_s if idle_s is not None else 15 * 60.0)

    # -- lifecycle --------------------------------------------------------------

    async def on_mount(self) -> None:
        """The first frame shows the day when a first look brought it in time; else
        the skeleton (empty screens), then the data as the worker brings it."""
        self.theme = self.settings.theme
        if self._first_look is not None and await self._first_look.wait():
            assert self.state.policy is not None  # read first
            self._apply_policy(self.state.policy)
        self.install_screen(PeopleScreen(self.state, self.now, self._settings), "people")
        self.install_screen(ScheduleScreen(self.state, self.now), "schedule")
        self.install_screen(NotificationsScreen(self.state, self.now), "notifications")
        self.install_screen(ReportsScreen(self.state, self.now, self.client), "reports")
        self.install_screen(
            SettingsScreen(self.state, self.now, self.client, self._settings, self.change_settings),
            "settings",
        )
        self.push_screen("people")
        if self._greeting:
            self.notify(self._greeting, title="Try this", markup=False, timeout=300)
        # After the first frame is painted: the worker's first steps (connecting, the
        # whole day again) run on the event loop and would otherwise hold it back.
        self.call_after_refresh(self._start_live)
        self.set_interval(
            0.25 if self._idle_s is not None and self._idle_s < 5 else 1.0, self._check_idle
        )

    def _start_live(self) -> None:
        self.live()
        self.freeze_after_sync()

    @work(name="live", exclusive=True, group="live")
    async def live(self) -> None:
        """Follow the event stream until it ends for good (``StreamEnded``)."""
        await self.feed.run()

    def on_stream_ended(self, message: StreamEnded) -> None:
        """A revoked token will not come back by retrying: leave (the CLI says why).
        A superseded dashboard stays, saying so, until closed."""
        if message.connection == Connection.SIGNED_OUT:
            self.exit(return_code=1)

    @work(name="gc", group="gc")
    async def freeze_after_sync(self) -> None:
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
        """Send the denies still waiting out their undo time; stop hooks still running."""
        if self._first_look is not None:
            self._first_look.cancel()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(FLUSH_S):
                await self.rooms.flush()
        await self.alerts.close()

    async def on_event(self, event: events.Event) -> None:
        """Any key or click counts as activity for the idle lock."""
        if isinstance(event, events.InputEvent) and not event.is_forwarded:
            self.idle.touch()
        await super().on_event(event)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """While locked only unlocking (and quitting) works."""
        return not self.locked or action in WHILE_LOCKED

    # -- what applies to the selection (the key bar, the menus, the keys) -------------

    def applies(self, action: str) -> bool:
        """Whether ``action`` applies to what is selected now."""
        return self.gate.applies(action)

    def refuse_key(self, action: str) -> bool:
        """Say what ``action`` needs when it does not apply now; True when it does not."""
        return self.gate.refuse(action)

    def key_done(self) -> None:
        """An action finished: a selection a dialog pinned for it is let go."""
        self.ui.unpin()

    def keys_for(self, screen: Screen[Any]) -> list[Key]:
        """The key bar's keys on ``screen``."""
        return self.gate.keys_for(screen, self.locked)

    def new_people(self) -> int:
        """People behind the unread notifications (the Notifications tab shows them)."""
        return self.state.new_people()

    def _settings(self) -> DashboardSettings:
        return self.settings  # read anew each time: the Settings screen changes them

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

    # -- the model and alerts ---------------------------------------------------

    def _state_changed(self) -> None:
        """One ``StateChanged`` for a burst of changes (a sync makes many)."""
        if not self._change_announced:
            self._change_announced = True
            self.post_message(StateChanged())

    def on_state_changed(self, _: StateChanged) -> None:
        """Move ``revision``: the screen in front redraws itself from the state."""
        self._change_announced = False
        self.revision = self.state.version

    def on_policy_loaded(self, message: PolicyLoaded) -> None:
        """The practice's idle time (unless given for this run) and unlock mode."""
        self._apply_policy(message.policy)

    def _apply_policy(self, policy: Policy) -> None:
        if self._idle_s is None:
            self.idle.limit_s = policy.idle_logoff_min * 60.0
        self.unlock_mode = policy.dashboard_unlock

    def _toast(self, text: str) -> None:
        self.notify(text, title="Arrival", markup=False, timeout=8)

    def on_entry_arrived(self, message: EntryArrived) -> None:
        """Ring, toast (no name while locked) and run the hook."""
        entry = self.state.entries.get(message.entry_id)
        label = self.state.label(entry) if entry is not None else "Someone"
        self.alerts.arrival("Someone" if self.locked else label, message.event)

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

        lock = LockScreen(self.unlock_mode, self.client.token_matches)
        self.push_screen(lock, unlocked)

    def action_reconnect(self) -> None:
        """Reconnect now instead of waiting out the delay (while the connection is down)."""
        self.feed.retry_now()

    # -- navigation ---------------------------------------------------------------

    async def action_show(self, name: str) -> None:
        """Switch between the numbered screens (not from a dialog or the lock)."""
        screen = self.ui.front()
        if screen is not None and screen.id != name:
            await self.switch_screen(name)

    # -- the palette and the mouse ------------------------------------------------

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        """The palette: every bound key of the dashboard, then Textual's own commands."""
        return palette_commands(self, screen, super().get_system_commands(screen))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        """Enter or a click on a row: the person's menu (a People row, a notification
        about someone in a room), else the session's (a Schedule row, a notification,
        a session listed when nobody waits)."""
        if self.locked:
            return
        entry = self.state.entries.get(self.ui.selected_entry() or "")
        if entry is not None:
            menu = PersonMenu(
                self.state.label(entry),
                menu_actions(self, PERSON_MARK, self.applies),
                person_details(self.state, entry),
            )
            self.push_screen(menu, partial(self._picked_for, entry.id, None))
            return
        appt_id = self.ui.selected_appointment()
        if appt_id is None:
            return
        menu = PersonMenu(
            self.sessions.session_title(appt_id),
            menu_actions(self, SESSION_MARK, self.applies),
        )
        self.push_screen(menu, partial(self._picked_for, None, appt_id))

    async def _picked_for(
        self, entry_id: str | None, appt_id: str | None, action: str | None
    ) -> None:
        """Run what was picked in a menu, as its key would, on what it was opened for."""
        if action is None:
            return
        if entry_id is not None and self.ui.selected_entry() != entry_id:
            self.notify("that person is no longer in the list", markup=False)
            return
        if appt_id is not None and self.ui.selected_appointment() != appt_id:
            self.notify("that session is no longer in the list", markup=False)
            return
        await self.run_action(action)
