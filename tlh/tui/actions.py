"""What the dashboard's keys do: every action is one ``TlhClient`` call.

``Actions`` is the app's half that acts; ``DashboardApp`` (app.py) composes screens,
the live feed, alerts and the lock on top of it. An action acts on what the screen in
front has selected (``DashboardScreen.selected_entry`` / ``selected_appointment``);
a refusal from the server is shown as a toast, never raised.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

from textual.app import App
from textual.binding import Binding, BindingType

from tlh.errors import TlhError

from .screens.base import DashboardScreen
from .screens.schedule import ExplainScreen
from .state import DashboardState

if TYPE_CHECKING:
    from tlh.client import TlhClient

Opener = Callable[[str], bool]


class Actions(App[None]):
    """Admit, deny, send back, next, start, explain: bound to keys and the palette."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "admit", "Admit"),
        Binding("A", "admit_all", "Admit all"),
        Binding("d", "deny", "Deny"),
        Binding("r", "send_back", "Send back"),
        Binding("n", "call_next", "Next"),
        Binding("s", "start_session", "Start"),
        Binding("e", "explain", "Explain"),
    ]

    client: TlhClient
    state: DashboardState
    now: Callable[[], datetime]
    opener: Opener

    def redraw(self) -> None:
        """Redraw the screen in front (the app defines what that means)."""

    def _entry(self) -> str | None:
        screen = self.screen
        return screen.selected_entry() if isinstance(screen, DashboardScreen) else None

    def _appointment(self) -> str | None:
        screen = self.screen
        if isinstance(screen, DashboardScreen) and screen.selected_appointment():
            return screen.selected_appointment()
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
