"""``RoomActions``: what the clinician does to people in the waiting room.

Admit, deny, send back, call the next, admit everyone, message one or all, transfer to
another clinician's room. Admitting opens the call page (``open_call``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual import work

from tlh.domain.models import Role

from .actions_base import ActionsBase
from .dialogs.choose import Choose
from .dialogs.person_menu import acts_on_person
from .dialogs.prompt import Prompt

if TYPE_CHECKING:
    from tlh.api.rooms import EntryView

#: The longest room message the server takes.
MESSAGE_MAX = 500


class RoomActions(ActionsBase):
    """Admit, deny, send back, next, admit all, message, message all, transfer."""

    def _person(self) -> EntryView | None:
        """The selected person, or the first one waiting for the selected appointment."""
        entry_id = self._entry()
        if entry_id is not None:
            return self.state.entries.get(entry_id)
        screen = self.front()
        appt_id = screen.selected_appointment() if screen is not None else None
        waiting = self.state.waiting_for(appt_id) if appt_id else []
        return waiting[0] if waiting else None

    async def _call_page(self, appointment_id: str | None) -> None:
        link = await self._do(lambda: self.client.sessions.call_link(appointment_id))
        if link is not None:
            self.open_call(link.url)

    # -- admitting and turning away -------------------------------------------------

    @acts_on_person
    async def action_admit(self) -> None:
        """Admit the selected person and open the call page."""
        entry_id = self._entry()
        if entry_id is None:
            return
        done = await self._do(lambda: self.client.rooms.admit(entry_id))
        if done is not None:
            self.state.acknowledge(entry_id)
            await self._refresh_rooms()
            await self._call_page(done.appointment_id)

    async def action_admit_all(self) -> None:
        """Admit everyone waiting in the caller's room."""
        done = await self._do(self.client.rooms.admit_all)
        if done is not None:
            self.notify(f"admitted {len(done.admitted)}", markup=False)
            await self._refresh_rooms()
            if done.admitted:
                await self._call_page(done.admitted[0].appointment_id)

    @acts_on_person
    async def action_deny(self) -> None:
        """Turn the selected person away."""
        entry_id = self._entry()
        if entry_id is not None and await self._do(lambda: self.client.rooms.deny(entry_id)):
            self.state.acknowledge(entry_id)
            await self._refresh_rooms()

    @acts_on_person
    async def action_send_back(self) -> None:
        """Send the selected person back to the waiting room."""
        entry_id = self._entry()
        if entry_id is not None and await self._do(lambda: self.client.rooms.send_back(entry_id)):
            await self._refresh_rooms()

    async def action_call_next(self) -> None:
        """Admit the next person in line and open the call page."""
        done = await self._do(self.client.rooms.next)
        if done is not None:
            self.state.acknowledge(done.id)
            await self._refresh_rooms()
            await self._call_page(done.appointment_id)

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
                    lambda: self.client.rooms.message(entry.id, text), self._told("message sent")
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
                    lambda: self.client.rooms.message_all(text), counted
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
        me = await self._do(self.client.staff.me)
        staff = await self._do(self.client.staff.list) if me is not None else None
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
        if to is None or await self._do(lambda: self.client.rooms.transfer(entry.id, to)) is None:
            return
        self.state.acknowledge(entry.id)
        self.notify("transferred", markup=False)
        await self._refresh_rooms()
