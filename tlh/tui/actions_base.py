"""``ActionsBase``: what every dashboard action stands on.

An action acts on what the screen in front has selected (``DashboardScreen.
selected_entry`` / ``selected_appointment``); a refusal from the server is shown as a
toast (``_do``), never raised. Actions that ask first run as workers that wait for a
dialog (``_ask``); a refusal of what was typed is returned to the dialog (``_attempt``),
which stays open to correct it. The actions themselves live in ``actions_room``,
``actions_session`` and ``actions_outreach``; ``actions.Actions`` binds them to keys.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from textual.app import App, ScreenStackError
from textual.screen import ModalScreen

from tlh.domain.models import Appointment
from tlh.errors import TlhError

from .dialogs.qr import QrCode
from .screens.base import DashboardScreen
from .state import DashboardState

if TYPE_CHECKING:
    from tlh.client import TlhClient

#: Opens a URL in the browser; False when there is none (``webbrowser.open``'s contract).
Opener = Callable[[str], bool]
T = TypeVar("T")


class ActionsBase(App[None]):
    """The app's half that acts: the selection, the server call, the dialog, the call page."""

    client: TlhClient
    state: DashboardState
    now: Callable[[], datetime]
    opener: Opener
    locked: bool

    def redraw(self) -> None:
        """Redraw the screen in front (the app defines what that means)."""

    # -- what an action acts on ------------------------------------------------------

    def front(self) -> DashboardScreen | None:
        """The numbered screen in front, or None (a dialog or the lock is up, or the app
        is shutting down: Textual empties the screen stack before it stops workers, and
        the live feed or an action may still be finishing)."""
        try:
            screen = self.screen
        except ScreenStackError:
            return None
        return screen if isinstance(screen, DashboardScreen) else None

    def _entry(self) -> str | None:
        screen = self.front()
        return screen.selected_entry() if screen is not None else None

    def _chosen_appointment(self) -> str | None:
        """The selected appointment, or the selected person's; never a guess (these
        actions change records)."""
        screen = self.front()
        if screen is not None and screen.selected_appointment():
            return screen.selected_appointment()
        entry = self.state.entries.get(self._entry() or "")
        return entry.appointment_id if entry is not None else None

    async def _appointment_record(self, appt_id: str) -> Appointment | None:
        """Today's copy of the appointment, else the server's."""
        known = self.state.appointments.get(appt_id)
        return known or await self._do(lambda: self.client.appointments.get(appt_id))

    def _who(self, appt_id: str | None) -> str:
        """The appointment's clients by name, for a dialog's title."""
        appt = self.state.appointments.get(appt_id) if appt_id else None
        return self.state.names_of(appt) if appt is not None else "this appointment"

    # -- calling the server (each action one TlhClient call, errors as a toast) --------

    async def _do(self, what: Callable[[], Any]) -> Any:
        try:
            return await what()
        except TlhError as exc:
            self.notify(exc.message, title="Not done", severity="error", markup=False)
            return None

    async def _refresh_rooms(self) -> None:
        rooms = await self._do(self.client.rooms.list)
        if rooms is not None:
            self.state.load_rooms(rooms)
            self.redraw()

    def open_call(self, url: str) -> None:
        """Open the call page in the browser, or show its URL and QR code when there is none."""
        try:
            opened = self.opener(url)
        except Exception:  # webbrowser may raise on odd platforms: show the URL instead
            opened = False
        if not opened and not self.locked:
            # (Locked meanwhile: a one-time login link is not left on screen.)
            self.clear_notifications()  # toasts are drawn over dialogs: keep the code clear
            self.push_screen(QrCode(url))

    # -- dialogs ----------------------------------------------------------------

    async def _ask(self, dialog: ModalScreen[T]) -> T | None:
        """Show a dialog and wait for the answer; nothing is asked while locked."""
        if self.locked:
            return None
        answer: T = await self.push_screen_wait(dialog)
        return answer

    async def _attempt(
        self, what: Callable[[], Awaitable[T]], done: Callable[[T], None]
    ) -> str | None:
        """``_do`` for a dialog: the refusal is returned for the dialog to show."""
        try:
            result = await what()
        except TlhError as exc:
            return exc.message
        done(result)
        return None

    def _told(self, text: str) -> Callable[[object], None]:
        """A ``done`` that says ``text`` in a toast."""
        return lambda _: self.notify(text, markup=False)
