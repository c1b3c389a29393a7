"""The Settings screen: your display name (on the server) and the dashboard's own settings.

The name is saved through ``PATCH /me`` when Enter is pressed; sound, the call timer and
the theme take effect at once and are written to ``dashboard.toml`` through the app's
``change`` callback. Every refusal (the server's, a bad number, a file that cannot be
written) is one line under the form.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, ClassVar

import msgspec
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Input, Label, Select, Static, Switch

from tlh.errors import TlhError
from tlh.tui.keybar import KeyBar
from tlh.tui.screens.base import DashboardScreen
from tlh.tui.settings import DashboardSettings, call_timer
from tlh.tui.state import DashboardState, clean

if TYPE_CHECKING:
    from tlh.client import TlhClient

HINT = "Tab moves between settings · Esc leaves a text field (then 1-5 switch screens)"

#: Applies and saves new settings; raises ``OSError`` / ``TlhError`` when it cannot.
Change = Callable[[DashboardSettings], None]


class SettingsScreen(DashboardScreen):
    """Display name, sound, call timer, theme."""

    #: Not a text field: the number keys must still switch screens when this one opens.
    AUTO_FOCUS = "#settings-sound"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "leave_field", "Leave field")]

    def __init__(
        self,
        state: DashboardState,
        now: Callable[[], datetime],
        client: TlhClient,
        settings: Callable[[], DashboardSettings],
        change: Change,
    ) -> None:
        super().__init__(state, now, screen_id="settings")
        self.client = client
        self.settings = settings
        self.change = change

    def compose(self) -> ComposeResult:
        """One row per setting, the message line, the key bar."""
        now = self.settings()
        yield Static("", id="status", classes="status", markup=False)
        with Vertical(id="settings-form"):
            with Horizontal(classes="setting"):
                yield Label("Display name (Enter saves)")
                yield Input(id="settings-name", placeholder="loading…", max_length=200)
            with Horizontal(classes="setting"):
                yield Label("Sound on arrival")
                yield Switch(value=now.sound, id="settings-sound")
            with Horizontal(classes="setting"):
                yield Label("Call timer, minutes (Enter saves)")
                yield Input(str(now.call_timer_min), id="settings-timer", type="integer")
            with Horizontal(classes="setting"):
                yield Label("Theme")
                themes = sorted(self.app.available_themes)
                yield Select(
                    [(t, t) for t in themes],
                    value=now.theme,
                    allow_blank=False,
                    id="settings-theme",
                )
            yield Static("", id="settings-message", markup=False)
            yield Static(HINT, classes="hint", markup=False)
        yield KeyBar()

    def on_mount(self) -> None:
        """Fetch the current display name."""
        self.load_name()

    def redraw(self) -> None:
        """The status line (connection, unread notifications)."""
        self.show_status("Settings")

    def action_leave_field(self) -> None:
        """Give the keys back to the dashboard (a text field takes every letter)."""
        self.query_one("#settings-sound", Switch).focus()

    def say(self, text: str) -> None:
        """One line under the form."""
        self.query_one("#settings-message", Static).update(text)

    @work(group="settings-name")
    async def load_name(self) -> None:
        """Put the display name the server has in its field."""
        field = self.query_one("#settings-name", Input)
        try:
            me = await self.client.staff.me()
        except TlhError as exc:
            self.say(f"Cannot load your name: {exc.message}")
            return
        field.value = clean(me.name)
        field.placeholder = ""

    async def on_input_submitted(self, event: Input.Submitted) -> None:
        """Enter in the name saves it on the server; in the timer, saves the timer."""
        if event.input.id == "settings-name":
            self.save_name(event.value)
        elif event.input.id == "settings-timer":
            text = event.value.strip()
            try:
                minutes = call_timer(int(text) if text.lstrip("-").isdigit() else text)
            except ValueError as exc:
                self.say(f"Call timer {exc}")
                return
            self._update(call_timer_min=minutes)

    @work(group="settings-name", exclusive=True)
    async def save_name(self, name: str) -> None:
        """Save the display name on the server (a newer save replaces one in flight)."""
        try:
            me = await self.client.staff.update_me(name=name)
        except TlhError as exc:
            self.say(f"Name not saved: {exc.message}")
            return
        self.query_one("#settings-name", Input).value = clean(me.name)
        self.say("Name saved.")

    def on_switch_changed(self, event: Switch.Changed) -> None:
        """Sound on or off, at once."""
        if event.value != self.settings().sound:
            self._update(sound=event.value)

    def on_select_changed(self, event: Select.Changed) -> None:
        """A new theme, at once."""
        if isinstance(event.value, str) and event.value != self.settings().theme:
            self._update(theme=event.value)

    def _update(self, **changes: object) -> None:
        try:
            self.change(msgspec.structs.replace(self.settings(), **changes))
        except (OSError, TlhError) as exc:
            message = exc.message if isinstance(exc, TlhError) else exc.strerror
            self.say(f"Settings not saved: {message}")
            return
        self.say("Settings saved.")
