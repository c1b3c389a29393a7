"""``RoomActions``: what the clinician does to people in the waiting room.

Admit, deny, send back, call the next, admit everyone, message one or all, transfer to
another clinician's room. Admitting opens the call page (``Ui.open_call``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tlh.tui.dialogs.choose import Choose
from tlh.tui.dialogs.person_menu import acts_on_person
from tlh.tui.dialogs.prompt import Prompt

from .keys import asks_first
from .ui import Acting

if TYPE_CHECKING:
    from tlh.api.rooms import EntryView, SentCount

#: The longest room message the server takes.
MESSAGE_MAX = 500


class RoomActions(Acting):
    """Admit, deny, send back, next, admit all, message, message all, transfer."""

    def person(self) -> EntryView | None:
        """The selected person, or the first one waiting for the selected appointment."""
        entry_id = self.ui.selected_entry()
        if entry_id is not None:
            return self.state.entries.get(entry_id)
        appt_id = self.ui.selected_appointment()
        waiting = self.state.waiting_for(appt_id) if appt_id else []
        return waiting[0] if waiting else None

    async def _call_page(self, appointment_id: str | None) -> None:
        link = await self.do(lambda: self.client.sessions.call_link(appointment_id))
        if link is not None:
            self.ui.open_call(link.url)

    # -- admitting and turning away -------------------------------------------------

    @acts_on_person
    async def admit(self) -> None:
        """Admit the selected person and open the call page."""
        entry_id = self.ui.selected_entry()
        if entry_id is None:
            return
        done = await self.do(lambda: self.client.rooms.admit(entry_id))
        if done is not None:
            self.state.acknowledge(entry_id)
            await self.refresh_rooms()
            await self._call_page(done.appointment_id)

    async def admit_all(self) -> None:
        """Admit everyone waiting in the caller's room."""
        done = await self.do(self.client.rooms.admit_all)
        if done is not None:
            self.ui.toast(f"admitted {len(done.admitted)}")
            await self.refresh_rooms()
            if done.admitted:
                await self._call_page(done.admitted[0].appointment_id)

    @acts_on_person
    async def deny(self) -> None:
        """Turn the selected person away."""
        entry_id = self.ui.selected_entry()
        if entry_id is None:
            return
        if await self.do(lambda: self.client.rooms.deny(entry_id)) is not None:
            self.state.acknowledge(entry_id)
            await self.refresh_rooms()

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

    # -- messages and transfers ---------------------------------------------------

    @acts_on_person
    @asks_first
    async def message(self) -> None:
        """Send the selected person a message shown on their waiting screen."""
        entry = self.needed(self.person(), "select someone waiting first")
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
        entry = self.needed(self.person(), "select someone waiting first")
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
