"""``RoomActions``: what the clinician does to people in the waiting room.

Admit (a second device after asking, or approved from the menu), deny (after asking,
then a few seconds in which ``z`` takes it back), send back, call the next, admit the
people waiting for one session (after asking), message one or all, transfer to another
clinician's room, and for an admin, show one clinician's room. Admitting opens the call
page (``Ui.open_call``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING

from tlh.tui.dialogs.choose import Choose
from tlh.tui.dialogs.confirm import Confirm
from tlh.tui.dialogs.person_menu import acts_on_person
from tlh.tui.dialogs.prompt import Prompt

from .keys import asks_first
from .ui import Acting, Stoppable, Ui

if TYPE_CHECKING:
    from tlh.api.rooms import EntryView, SentCount
    from tlh.client import TlhClient
    from tlh.tui.state import DashboardState

#: The longest room message the server takes.
MESSAGE_MAX = 500
#: Seconds a confirmed deny waits before it is sent (``z`` takes it back meanwhile).
UNDO_S = 5.0
#: The room filter's choice that shows every room.
EVERY_ROOM = "*"


class RoomActions(Acting):
    """Admit, approve, deny, undo, send back, next, admit all, message, message all,
    transfer, filter rooms."""

    def __init__(
        self, client: TlhClient, state: DashboardState, ui: Ui, now: Callable[[], datetime]
    ) -> None:
        super().__init__(client, state, ui, now)
        #: Denies waiting out their undo time, by entry id, oldest first.
        self.pending: dict[str, Stoppable] = {}
        #: Seconds a confirmed deny waits (tests shorten it).
        self.undo_s = UNDO_S

    def person(self) -> EntryView | None:
        """The selected person, or the first one waiting for the selected appointment."""
        entry_id = self.ui.selected_entry()
        if entry_id is not None:
            return self.state.entries.get(entry_id)
        appt_id = self.ui.selected_appointment()
        waiting = self.state.waiting_for(appt_id) if appt_id else []
        return waiting[0] if waiting else None

    def selected_person(self) -> EntryView | None:
        """The person selected (never a guess: these actions change who is let in)."""
        return self.state.entries.get(self.ui.selected_entry() or "")

    async def _call_page(self, appointment_id: str | None) -> None:
        link = await self.do(lambda: self.client.sessions.call_link(appointment_id))
        if link is not None:
            self.ui.open_call(link.url)

    async def _admit(self, entry: EntryView, *, approve: bool = False) -> bool:
        """Let one person in (``approve``: a second device); whether they were. A deny
        of theirs still waiting to be sent is dropped: letting them in says otherwise."""
        self._take_back(entry.id)
        done = await self.do(
            lambda: self.client.rooms.admit(entry.id, approve_second_device=approve),
            about=entry.appointment_id,
            who=self.state.label(entry),
        )
        if done is None:
            return False
        self.state.acknowledge(entry.id)
        await self.refresh_rooms()
        await self._call_page(done.appointment_id)
        return True

    # -- admitting and turning away -------------------------------------------------

    @acts_on_person
    @asks_first
    async def admit(self) -> None:
        """Admit the selected person and open the call page (a second device after
        asking)."""
        entry = self.needed(self.selected_person(), "admit")
        if entry is None:
            return
        if entry.second_device:
            question = (
                f"{self.state.label(entry)} is already here on another device. "
                "Admit this second device too?"
            )
            if not await self.ui.ask(Confirm(question, "Admit")):
                return
        await self._admit(entry, approve=entry.second_device)

    @acts_on_person
    async def approve_device(self) -> None:
        """Approve the selected second device and let it in."""
        entry = self.needed(self.selected_person(), "approve_device")
        if entry is not None:
            await self._admit(entry, approve=True)

    def session_to_admit(self) -> str | None:
        """The session whose people admit-all lets in: the selected person's or
        appointment, else the one open now, else the next of today's."""
        entry = self.selected_person()
        if entry is not None:
            return entry.appointment_id
        chosen = self.ui.selected_appointment()
        if chosen is not None:
            return chosen
        open_now = [s for s in self.state.segments if s.ended_at is None]
        if open_now:
            return open_now[-1].appointment_id
        upcoming = self.state.next_appointment(self.now())
        return upcoming.id if upcoming is not None else None

    def admittable(self, appt_id: str | None) -> list[EntryView]:
        """Who admit-all lets in for a session (second devices wait for approval)."""
        return [e for e in self.state.waiting_for(appt_id) if not e.second_device]

    @asks_first
    async def admit_all(self) -> None:
        """Admit everyone waiting for the session being started (after asking)."""
        appt_id = self.session_to_admit()
        session = self.session_title(appt_id) if appt_id else "the room session"
        people = self.admittable(appt_id)
        if not people:
            self.ui.toast(f"nobody is waiting for {session}", title="Admit all")
            return
        names = ", ".join(self.state.label(e) for e in people)
        question = f"Admit the {len(people)} waiting for {session}: {names}?"
        if not await self.ui.ask(Confirm(question, "Admit")):
            return
        admitted = 0
        opened: str | None = None
        for entry in people:
            if entry.id not in self.state.entries:
                continue  # left meanwhile
            done = await self.do(
                partial(self.client.rooms.admit, entry.id),
                about=appt_id,
                who=self.state.label(entry),
            )
            if done is None:
                break  # the refusal is on screen; the rest stay waiting
            admitted += 1
            opened = done.appointment_id
            self.state.acknowledge(entry.id)
        await self.refresh_rooms()
        if admitted:
            self.ui.toast(f"admitted {admitted}")
            await self._call_page(opened)

    @acts_on_person
    @asks_first
    async def deny(self) -> None:
        """Turn the selected person away, after asking; ``z`` undoes it for a few
        seconds."""
        entry = self.needed(self.selected_person(), "deny")
        if entry is None:
            return
        label = self.state.label(entry)
        if entry.id in self.pending:
            self.ui.toast(f"{label}: already being denied — z undoes", title="Deny")
            return
        question = f"Deny {label}? Their page says they cannot join."
        if not await self.ui.ask(Confirm(question, "Deny")):
            return
        self.state.set_denying(entry.id, True)
        self.pending[entry.id] = self.ui.later(self.undo_s, partial(self._deny_now, entry.id))
        self.ui.toast(f"{label}: denied in {self.undo_s:g} s — z undoes", title="Deny")

    async def _deny_now(self, entry_id: str) -> None:
        if self.pending.pop(entry_id, None) is None:
            return  # undone, or let in meanwhile
        self.state.set_denying(entry_id, False)
        if entry_id not in self.state.entries:
            return  # gone meanwhile
        if await self.do(lambda: self.client.rooms.deny(entry_id)) is not None:
            self.state.acknowledge(entry_id)
            await self.refresh_rooms()

    async def undo(self) -> None:
        """Take back the last deny while it is still waiting to be sent."""
        if not self.pending:
            self.needed(None, "undo")
            return
        entry_id = next(reversed(self.pending))
        self._take_back(entry_id)
        entry = self.state.entries.get(entry_id)
        who = self.state.label(entry) if entry is not None else "someone who left"
        self.ui.toast(f"{who} is not denied", title="Undone")

    def _take_back(self, entry_id: str) -> None:
        """Drop a deny still waiting to be sent."""
        timer = self.pending.pop(entry_id, None)
        if timer is not None:
            timer.stop()
            self.state.set_denying(entry_id, False)

    def undoable(self) -> bool:
        """Whether a deny can still be taken back."""
        return bool(self.pending)

    async def flush(self) -> None:
        """Send the denies still waiting out their undo time (the dashboard closes)."""
        for entry_id, timer in list(self.pending.items()):
            timer.stop()
            await self._deny_now(entry_id)

    @acts_on_person
    async def send_back(self) -> None:
        """Send the selected person back to the waiting room."""
        entry_id = self.ui.selected_entry()
        if entry_id is None:
            return
        if await self.do(lambda: self.client.rooms.send_back(entry_id)) is not None:
            await self.refresh_rooms()

    async def call_next(self) -> None:
        """Admit the next person in line and open the call page."""
        done = await self.do(self.client.rooms.next)
        if done is not None:
            self.state.acknowledge(done.id)
            await self.refresh_rooms()
            await self._call_page(done.appointment_id)

    # -- messages, transfers, rooms ---------------------------------------------------

    @acts_on_person
    @asks_first
    async def message(self) -> None:
        """Send the selected person a message shown on their waiting screen."""
        entry = self.needed(self.person(), "message")
        if entry is None:
            return
        await self.ui.ask(
            Prompt(
                f"Message to {self.state.label(entry)}",
                submit=lambda text: self.attempt(
                    lambda: self.client.rooms.message(entry.id, text), self.told("message sent")
                ),
                placeholder="Shown on their waiting screen",
                max_length=MESSAGE_MAX,
            )
        )

    @asks_first
    async def message_all(self) -> None:
        """Send everyone waiting in the room one message; says how many got it."""

        def counted(done: SentCount) -> None:
            self.ui.toast(f"message sent to {done.sent} waiting")

        await self.ui.ask(
            Prompt(
                "Message to everyone waiting",
                submit=lambda text: self.attempt(
                    lambda: self.client.rooms.message_all(text), counted
                ),
                placeholder="Shown on every waiting screen",
                max_length=MESSAGE_MAX,
            )
        )

    @acts_on_person
    @asks_first
    async def transfer(self) -> None:
        """Move the selected person to another telehealth clinician's waiting room."""
        entry = self.needed(self.person(), "transfer")
        if entry is None:
            return
        me = await self.do(self.client.staff.me)
        staff = await self.do(self.client.staff.list) if me is not None else None
        if me is None or staff is None:
            return
        others = [
            (s.id, f"{s.name} <{s.email}>")
            for s in staff
            if s.is_clinician and s.telehealth and s.active and s.id != me.id
        ]
        if not others:
            self.ui.toast("no other telehealth clinician to transfer to")
            return
        to = await self.ui.ask(Choose(f"Transfer {self.state.label(entry)} to", others))
        if to is None or await self.do(lambda: self.client.rooms.transfer(entry.id, to)) is None:
            return
        self.state.acknowledge(entry.id)
        self.ui.toast("transferred")
        await self.refresh_rooms()

    @asks_first
    async def filter_rooms(self) -> None:
        """Show one clinician's room only, or every room again (admins)."""
        staff = await self.do(self.client.staff.list)
        if staff is None:
            return
        self.state.load_staff({s.id: s.name for s in staff})
        rooms = [(s.id, s.name) for s in staff if s.is_clinician and s.active]
        picked = await self.ui.ask(Choose("Show the room of", [(EVERY_ROOM, "Everyone"), *rooms]))
        if picked is not None:
            self.state.filter_rooms(None if picked == EVERY_ROOM else picked)
