"""What the dashboard's keys do: every action is one ``TlhClient`` call.

``Actions`` is the app's half that acts; ``DashboardApp`` (app.py) composes screens,
the live feed, alerts and the lock on top of it. An action acts on what the screen in
front has selected (``DashboardScreen.selected_entry`` / ``selected_appointment``);
a refusal from the server is shown as a toast, never raised. Actions that ask first
(a message, a clinician, a channel, a confirmation) run as workers that wait for a
dialog (``tlh.tui.dialogs``); a refusal of what was typed is shown in the dialog,
which stays open to correct it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from textual import work
from textual.app import App, ScreenStackError
from textual.binding import Binding, BindingType
from textual.screen import ModalScreen

from tlh.domain.models import Appointment, Role, Status
from tlh.domain.transitions import allowed_transitions
from tlh.errors import TlhError

from .dialogs.choose import Choose
from .dialogs.confirm import Confirm
from .dialogs.person_menu import acts_on_person
from .dialogs.prompt import Prompt
from .dialogs.qr import QrCode
from .screens.base import DashboardScreen
from .screens.schedule import ExplainScreen
from .state import DashboardState, clean

if TYPE_CHECKING:
    from tlh.client import TlhClient
    from tlh.client.rooms import EntryView

Opener = Callable[[str], bool]
T = TypeVar("T")
#: Sends with an address to add to the record first (None: use the one on file).
Sender = Callable[[str | None], Awaitable[object]]

#: What a clinician marks from the dashboard (other moves are the scheduler's).
MARKS = {Status.CHECKED_IN: "checked in", Status.OCCURRED: "occurred", Status.MISSED: "missed"}
CHANNELS = (("email", "Email"), ("sms", "Text message (SMS)"))
#: The longest room message the server takes.
MESSAGE_MAX = 500


class Actions(App[None]):
    """Every action on people and sessions: bound to keys and the palette."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "admit", "Admit"),
        Binding("A", "admit_all", "Admit all", show=False),
        Binding("d", "deny", "Deny"),
        Binding("r", "send_back", "Send back", show=False),
        Binding("n", "call_next", "Next"),
        Binding("s", "start_session", "Start"),
        Binding("e", "explain", "Explain"),
        Binding("m", "message", "Message"),
        Binding("M", "message_all", "Message all", show=False),
        Binding("t", "transfer", "Transfer", show=False),
        Binding("x", "end_session", "End session", show=False),
        Binding("l", "send_link", "Send link", show=False),
        Binding("c", "send_consent", "Consent", show=False),
        Binding("v", "verbal_consent", "Verbal consent", show=False),
        Binding("S", "set_status", "Status", show=False),
    ]

    client: TlhClient
    state: DashboardState
    now: Callable[[], datetime]
    opener: Opener
    locked: bool

    def redraw(self) -> None:
        """Redraw the screen in front (the app defines what that means)."""

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

    def _appointment(self) -> str | None:
        """The chosen appointment; with nothing selected, the next of today's (start
        and explain act on it)."""
        chosen = self._chosen_appointment()
        if chosen is not None or self._entry() in self.state.entries:
            return chosen
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
        """Open the call page in the browser, or show its URL and QR code when there is none."""
        try:
            opened = self.opener(url)
        except Exception:  # webbrowser may raise on odd platforms: show the URL instead
            opened = False
        if not opened and not self.locked:
            # (Locked meanwhile: a one-time login link is not left on screen.)
            self.clear_notifications()  # toasts are drawn over dialogs: keep the code clear
            self.push_screen(QrCode(url))

    async def _call_page(self, appointment_id: str | None) -> None:
        link = await self._do(lambda: self.client.call_link(appointment_id))
        if link is not None:
            self.open_call(link.url)

    @acts_on_person
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

    @acts_on_person
    async def action_deny(self) -> None:
        """Turn the selected person away."""
        entry_id = self._entry()
        if entry_id is not None and await self._do(lambda: self.client.room_deny(entry_id)):
            self.state.acknowledge(entry_id)
            await self._refresh_rooms()

    @acts_on_person
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

    @acts_on_person
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

    # -- what the actions that ask act on -----------------------------------------

    def _person(self) -> EntryView | None:
        """The selected person, or the first one waiting for the selected appointment."""
        entry_id = self._entry()
        if entry_id is not None:
            return self.state.entries.get(entry_id)
        screen = self.front()
        appt_id = screen.selected_appointment() if screen is not None else None
        waiting = self.state.waiting_for(appt_id) if appt_id else []
        return waiting[0] if waiting else None

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
        return known or await self._do(lambda: self.client.appointment_get(appt_id))

    def _who(self, appt_id: str | None) -> str:
        """The appointment's clients by name, for a dialog's title."""
        appt = self.state.appointments.get(appt_id) if appt_id else None
        return self.state.names_of(appt) if appt is not None else "this appointment"

    async def _pick_client(self) -> tuple[str, str] | None:
        """The selected person's client, or one of the selected appointment's (asked
        when there are several): ``(id, name)``."""
        entry = self.state.entries.get(self._entry() or "")
        if entry is not None and entry.client_id:
            # A caregiver's entry acts on their client, named as the client.
            name = self.state.client_names.get(entry.client_id) or self.state.label(entry)
            return entry.client_id, clean(name)
        appt_id = self._chosen_appointment()
        appt = await self._appointment_record(appt_id) if appt_id else None
        ids = list(appt.client_ids) if appt is not None else []
        names = {c: clean(self.state.client_names.get(c, c)) for c in ids}
        if len(ids) > 1:
            picked = await self._ask(Choose("Which client?", list(names.items())))
            ids = [picked] if picked else []
        return (ids[0], names[ids[0]]) if ids else None

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

    # -- messages and transfers ---------------------------------------------------

    @acts_on_person
    @work(group="actions")
    async def action_message(self) -> None:
        """Send the selected person a message shown on their waiting screen."""
        entry = self._person()
        if entry is None:
            self.notify("select someone waiting first", markup=False)
            return
        await self._ask(
            Prompt(
                f"Message to {self.state.label(entry)}",
                submit=lambda text: self._attempt(
                    lambda: self.client.room_message(entry.id, text), self._told("message sent")
                ),
                placeholder="Shown on their waiting screen",
                max_length=MESSAGE_MAX,
            )
        )

    @work(group="actions")
    async def action_message_all(self) -> None:
        """Send everyone waiting in the room one message; says how many got it."""

        def counted(done: Any) -> None:
            self.notify(f"message sent to {done.sent} waiting", markup=False)

        await self._ask(
            Prompt(
                "Message to everyone waiting",
                submit=lambda text: self._attempt(
                    lambda: self.client.room_message_all(text), counted
                ),
                placeholder="Shown on every waiting screen",
                max_length=MESSAGE_MAX,
            )
        )

    @acts_on_person
    @work(group="actions")
    async def action_transfer(self) -> None:
        """Move the selected person to another telehealth clinician's waiting room."""
        entry = self._person()
        if entry is None:
            self.notify("select someone waiting first", markup=False)
            return
        me = await self._do(self.client.me)
        staff = await self._do(self.client.staff_list) if me is not None else None
        if staff is None:
            return
        others = [
            (s.id, f"{s.name} <{s.email}>")
            for s in staff
            if s.role is Role.CLINICIAN and s.telehealth and s.active and s.id != me.id
        ]
        if not others:
            self.notify("no other telehealth clinician to transfer to", markup=False)
            return
        to = await self._ask(Choose(f"Transfer {self.state.label(entry)} to", others))
        if to is None or await self._do(lambda: self.client.room_transfer(entry.id, to)) is None:
            return
        self.state.acknowledge(entry.id)
        self.notify("transferred", markup=False)
        await self._refresh_rooms()

    # -- sessions and appointments -------------------------------------------------

    @acts_on_person
    @work(group="actions")
    async def action_end_session(self) -> None:
        """End the open session of the selected person's (or appointment's) appointment."""
        entry = self.state.entries.get(self._entry() or "")
        appt_id = entry.appointment_id if entry is not None else self._chosen_appointment()
        if entry is None and appt_id is None:
            self.notify("select a person or an appointment first", markup=False)
            return
        who = self.state.label(entry) if entry is not None else self._who(appt_id)
        segments = await self._do(self.client.sessions)
        live = [s for s in segments or [] if s.ended_at is None and s.appointment_id == appt_id]
        if segments is not None and not live:
            self.notify("no session is open for this selection", markup=False)
        if not live or not await self._ask(Confirm(f"End the session with {who}?", "End")):
            return
        segment = max(live, key=lambda s: s.started_at)
        if await self._do(lambda: self.client.session_end(segment.id)) is not None:
            self.notify("session ended", markup=False)
            await self._refresh_rooms()

    @work(group="actions")
    async def action_set_status(self) -> None:
        """Mark the selected appointment checked in, occurred or missed."""
        appt_id = self._chosen_appointment()
        appt = await self._appointment_record(appt_id) if appt_id else None
        if appt is None:
            if appt_id is None:
                self.notify("select an appointment first", markup=False)
            return
        allowed = allowed_transitions(appt.status)
        options = [(s.value, label) for s, label in MARKS.items() if s in allowed]
        if not options:
            self.notify(f"a {appt.status.value} appointment cannot be marked here", markup=False)
            return
        title = f"{self._who(appt.id)}: {appt.status.value}, mark as"
        chosen = await self._ask(Choose(title, options))
        changed = (
            await self._do(lambda: self.client.appointment_status(appt.id, chosen))
            if chosen
            else None
        )
        if changed is not None:
            if changed.id in self.state.appointments:
                known = {**self.state.appointments, changed.id: changed}
                self.state.load_schedule(known.values(), self.state.client_names)
                self.redraw()
            self.notify(f"marked {MARKS[changed.status]}", markup=False)

    # -- links and consent ----------------------------------------------------------

    @work(group="actions")
    async def action_send_link(self) -> None:
        """Send the selected appointment's join link by email or SMS."""
        appt_id = self._chosen_appointment()
        if appt_id is None:
            self.notify("select an appointment first", markup=False)
            return
        channel = await self._ask(Choose(f"Send {self._who(appt_id)} the link by", CHANNELS))
        appt = await self._appointment_record(appt_id) if channel else None
        if channel is None or appt is None:
            return

        async def send(to: str | None) -> object:
            return await self.client.invite(appt_id, channel, to=to)

        await self._send(appt.client_ids, channel, send, f"link sent by {channel}")

    @acts_on_person
    @work(group="actions")
    async def action_send_consent(self) -> None:
        """Send the selected client the consent form's link by email or SMS."""
        picked = await self._pick_client()
        if picked is None:
            self.notify("select a client or an appointment first", markup=False)
            return
        client_id, name = picked
        channel = await self._ask(Choose(f"Send {name} the consent form by", CHANNELS))
        if channel is None:
            return

        async def send(to: str | None) -> object:
            return await self.client.consent_send(client_id, channel, to=to)

        await self._send([client_id], channel, send, f"consent form sent by {channel}")

    @acts_on_person
    @work(group="actions")
    async def action_verbal_consent(self) -> None:
        """Record that the selected client consented verbally (a note is required)."""
        picked = await self._pick_client()
        if picked is None:
            self.notify("select a client or an appointment first", markup=False)
            return
        client_id, name = picked
        noted = await self._ask(
            Prompt(
                f"Verbal consent of {name}: how and when did they agree?",
                submit=lambda note: self._attempt(
                    lambda: self.client.consent_verbal(client_id, note),
                    self._told("verbal consent recorded"),
                ),
                placeholder="e.g. agreed by phone after the form was read aloud",
                required="A note is required.",
            )
        )
        if noted is not None:
            await self._refresh_rooms()

    async def _send(self, client_ids: Sequence[str], channel: str, send: Sender, sent: str) -> None:
        """Send by ``channel``; when the one client has no address of that kind, ask for
        it: the server checks it, saves it on the record (audited), then sends."""
        person = None
        if len(client_ids) == 1:
            person = await self._do(lambda: self.client.client_get(client_ids[0]))
            if person is None:
                return
        if person is None or (person.email if channel == "email" else person.phone):
            # Several clients: the server names any without an address in its refusal.
            if await self._do(lambda: send(None)) is not None:
                self.notify(sent, markup=False)
            return
        what = "email address" if channel == "email" else "mobile number"
        await self._ask(
            Prompt(
                f"{clean(person.name)} has no {what}: add one to send",
                submit=lambda to: self._attempt(lambda: send(to), self._told(sent)),
                placeholder="name@example.org" if channel == "email" else "+15551234567",
            )
        )
