"""``Ui``: the little of the app that an action needs, and ``Acting``, what every action
stands on (the server call with its refusal shown one way, dialogs, the selection).

A refusal from the server is never raised: ``do`` shows it, one pattern for every key.
A refusal with reasons (a session that cannot start, by ``s`` or by admitting the first
person) is the Explain dialog, naming the people and the key that fixes each reason; any other is a toast.
Actions that ask first wait for a dialog (``Ui.ask``); a refusal of what was typed is
returned to the dialog (``attempt``), which stays open to correct it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from textual.screen import ModalScreen

from tlh.domain.models import Appointment
from tlh.errors import TlhError
from tlh.tui.applicable import RULES
from tlh.tui.dialogs.explain import ExplainScreen
from tlh.tui.reasons import blockers_of, reasons, title
from tlh.tui.state import DashboardState

if TYPE_CHECKING:
    from tlh.client import TlhClient

T = TypeVar("T")


class Stoppable(Protocol):
    """A timer that can be stopped before it fires."""

    def stop(self) -> None:
        """Do not fire."""


class Ui(Protocol):
    """What actions may do to the screen (the app implements it)."""

    def toast(self, text: str, *, title: str | None = None, error: bool = False) -> None:
        """Say something briefly (names shown literally)."""

    def show(self, screen: ModalScreen[Any], about: str | None = None) -> None:
        """Put a dialog up without waiting for it; an action it closes with runs on
        ``about`` (an appointment) if given, else on the selection."""

    async def ask(self, dialog: ModalScreen[T]) -> T | None:
        """Put a dialog up and wait for its answer (None while locked)."""

    def later(self, delay_s: float, callback: Callable[[], Awaitable[None]]) -> Stoppable:
        """Run ``callback`` in ``delay_s`` seconds, unless stopped first."""

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

    def needed(self, chosen: T | None, action: str) -> T | None:
        """``chosen``; when there is nothing, say what ``action`` needs (the words
        every key uses, ``tlh.tui.applicable``)."""
        if chosen is None:
            rule = RULES.get(action)
            self.ui.toast(rule[1] if rule else "nothing selected")
        return chosen

    def chosen_appointment(self) -> str | None:
        """The selected appointment, or the selected person's; never a guess (these
        actions change records)."""
        chosen = self.ui.selected_appointment()
        if chosen:
            return chosen
        entry = self.state.entries.get(self.ui.selected_entry() or "")
        return entry.appointment_id if entry is not None else None

    def known_appointment(self, appt_id: str | None) -> Appointment | None:
        """Today's or a next day's copy of an appointment, if shown."""
        if appt_id is None:
            return None
        return self.state.appointments.get(appt_id) or self.state.upcoming.get(appt_id)

    async def appointment_record(self, appt_id: str) -> Appointment | None:
        """Today's copy of the appointment, else the server's."""
        known = self.known_appointment(appt_id)
        return known or await self.do(lambda: self.client.appointments.get(appt_id))

    def who(self, appt_id: str | None) -> str:
        """The appointment's clients by name, for a dialog's title."""
        appt = self.known_appointment(appt_id)
        return self.state.names_of(appt) if appt is not None else "this appointment"

    def session_title(self, appt_id: str | None) -> str:
        """``Reese Okafor (14:30)``: whose session, and when."""
        appt = self.known_appointment(appt_id)
        names = self.state.names_of(appt) if appt is not None else ""
        return title(appt, names, self.state.zone)

    # -- calling the server (each action one TlhClient call, refusals one way) --------

    async def do(
        self, what: Callable[[], Awaitable[T]], *, about: str | None = None, who: str = ""
    ) -> T | None:
        """Call the server; a refusal is shown (``refused``) and gives None. ``about``:
        the appointment the call may start; ``who``: the person it acts on."""
        try:
            return await what()
        except TlhError as exc:
            self.refused(exc, about=about, who=who)
            return None

    def refused(self, exc: TlhError, *, about: str | None = None, who: str = "") -> None:
        """A refusal, one pattern for every key: with reasons (a session that cannot
        start: ``s``, or ``a`` letting the first person in), the Explain dialog naming
        the people and the key that fixes each; otherwise a toast."""
        blockers = blockers_of(exc.details)
        if not blockers:
            self.ui.toast(exc.message, title="Not done", error=True)
            return
        appt = self.known_appointment(about)
        head = f"{self.session_title(about) if appt is not None else who or 'The session'}"
        head += " cannot start:"
        found = reasons(blockers, names=self.state.client_names, appt=appt, zone=self.state.zone)
        self.ui.show(ExplainScreen(head, found), about=about)

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
