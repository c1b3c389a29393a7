"""``ScreenUi``: the dashboard as its actions see it (``actions.ui.Ui``): the selection
on the screen in front, toasts, dialogs, timers and the call page.

A dialog that closes with an action's name (the Explain dialog's fixing keys) has the
app run it, on the appointment the dialog was about: that one is pinned as the
selection until the action is done. The browser opener is injected, so tests never
open a browser.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from textual.app import App, ScreenStackError
from textual.screen import ModalScreen
from textual.timer import Timer

from .dialogs.qr import QrCode
from .screens.base import DashboardScreen

#: Opens a URL in the browser; False when there is none (``webbrowser.open``'s contract).
Opener = Callable[[str], bool]
T = TypeVar("T")


class ScreenUi:
    """What the actions may do to the app: no more than ``actions.ui.Ui``."""

    def __init__(self, app: App[Any], opener: Opener, locked: Callable[[], bool]) -> None:
        self.app = app
        self.opener = opener
        self.locked = locked
        #: The appointment a dialog's action runs on, while it runs.
        self.pinned: str | None = None

    def front(self) -> DashboardScreen | None:
        """The numbered screen in front, or None (a dialog or the lock is up, or the app
        is shutting down: Textual empties the screen stack before it stops workers, and
        the live feed or an action may still be finishing)."""
        try:
            screen = self.app.screen
        except ScreenStackError:
            return None
        return screen if isinstance(screen, DashboardScreen) else None

    def selected_entry(self) -> str | None:
        """The room entry selected on the screen in front."""
        screen = self.front()
        return screen.selected_entry() if screen is not None else None

    def selected_appointment(self) -> str | None:
        """The appointment selected on the screen in front (or pinned by a dialog)."""
        if self.pinned is not None:
            return self.pinned
        screen = self.front()
        return screen.selected_appointment() if screen is not None else None

    def unpin(self) -> None:
        """The action a dialog asked for is done: the screen's selection counts again."""
        self.pinned = None

    def toast(self, text: str, *, title: str | None = None, error: bool = False) -> None:
        """A toast, its text shown literally."""
        self.app.notify(
            text, title=title or "", severity="error" if error else "information", markup=False
        )

    def show(self, screen: ModalScreen[Any], about: str | None = None) -> None:
        """Put a dialog up without waiting for it; an action's name it closes with is
        run (on ``about``, when given)."""

        async def then(picked: object) -> None:
            if isinstance(picked, str) and picked and not self.locked():
                self.pinned = about
                if not await self.app.run_action(picked):
                    self.unpin()  # not run (locked meanwhile): nothing will unpin it

        self.app.push_screen(screen, then)

    def later(self, delay_s: float, callback: Callable[[], Awaitable[None]]) -> Timer:
        """Run ``callback`` in ``delay_s`` seconds, unless stopped first."""
        return self.app.set_timer(delay_s, callback)

    async def ask(self, dialog: ModalScreen[T]) -> T | None:
        """Show a dialog and wait for the answer (in a worker); nothing is asked while
        locked."""
        if self.locked():
            return None
        answer: T = await self.app.push_screen_wait(dialog)
        return answer

    def open_call(self, url: str) -> None:
        """Open the call page in the browser, or show its URL and QR code when there is none."""
        try:
            opened = self.opener(url)
        except Exception:  # webbrowser may raise on odd platforms: show the URL instead
            opened = False
        if not opened and not self.locked():
            # (Locked meanwhile: a one-time login link is not left on screen.)
            self.app.clear_notifications()  # toasts are drawn over dialogs: keep the code clear
            self.app.push_screen(QrCode(url))
