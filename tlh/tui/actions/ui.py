"""``Ui``: the little of the app that an action needs, and ``Acting``, what every action
stands on (the server call with its refusal as a toast, dialogs, the selection).

A refusal from the server is shown as a toast (``do``), never raised. Actions that ask
first wait for a dialog (``Ui.ask``); a refusal of what was typed is returned to the
dialog (``attempt``), which stays open to correct it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from textual.screen import ModalScreen

from tlh.domain.models import Appointment
from tlh.errors import TlhError
from tlh.tui.state import DashboardState

if TYPE_CHECKING:
    from tlh.client import TlhClient

T = TypeVar("T")


class Ui(Protocol):
    """What actions may do to the screen (the app implements it)."""

    def toast(self, text: str, *, title: str | None = None, error: bool = False) -> None:
        """Say something briefly (names shown literally)."""

    def show(self, screen: ModalScreen[Any]) -> None:
        """Put a dialog up without waiting for it."""

    async def ask(self, dialog: ModalScreen[T]) -> T | None:
        """Put a dialog up and wait for its answer (None while locked)."""

    def open_call(self, url: str) -> None:
        """Open the call page (or show its URL and QR code)."""

    def selected_entry(self) -> str | None:
        """The room entry selected on the screen in front."""

    def selected_appointment(self) -> str | None:
        """The appointment selected on the screen in front."""


class Acting:
    """The client, the state and the ``Ui``, with the steps every action shares."""

    def __init__(
        self, client: TlhClient, state: DashboardState, ui: Ui, now: Callable[[], datetime]
    ) -> None:
        self.client = client
        self.state = state
        self.ui = ui
        self.now = now

    # -- what an action acts on ------------------------------------------------------

    def needed(self, chosen: T | None, hint: str) -> T | None:
        """``chosen``; when there is nothing, say what to select (``hint``) first."""
        if chosen is None:
            self.ui.toast(hint)
        return chosen

    def chosen_appointment(self) -> str | None:
        """The selected appointment, or the selected person's; never a guess (these
        actions change records)."""
        chosen = self.ui.selected_appointment()
        if chosen:
            return chosen
        entry = self.state.entries.get(self.ui.selected_entry() or "")
        return entry.appointment_id if entry is not None else None

    async def appointment_record(self, appt_id: str) -> Appointment | None:
        """Today's copy of the appointment, else the server's."""
        known = self.state.appointments.get(appt_id)
        return known or await self.do(lambda: self.client.appointments.get(appt_id))

    def who(self, appt_id: str | None) -> str:
        """The appointment's clients by name, for a dialog's title."""
        appt = self.state.appointments.get(appt_id) if appt_id else None
        return self.state.names_of(appt) if appt is not None else "this appointment"

    # -- calling the server (each action one TlhClient call, errors as a toast) --------

    async def do(self, what: Callable[[], Awaitable[T]]) -> T | None:
        """Call the server; a refusal is a toast and None."""
        try:
            return await what()
        except TlhError as exc:
            self.ui.toast(exc.message, title="Not done", error=True)
            return None

    async def refresh_rooms(self) -> None:
        """Fetch the rooms again after acting on one (the state shows the answer)."""
        rooms = await self.do(self.client.rooms.list)
        if rooms is not None:
            self.state.load_rooms(rooms)

    async def attempt(
        self, what: Callable[[], Awaitable[T]], done: Callable[[T], None]
    ) -> str | None:
        """``do`` for a dialog: the refusal is returned for the dialog to show."""
        try:
            result = await what()
        except TlhError as exc:
            return exc.message
        done(result)
        return None

    def told(self, text: str) -> Callable[[object], None]:
        """A ``done`` that says ``text`` in a toast."""
        return lambda _: self.ui.toast(text)
