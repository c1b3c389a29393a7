"""``OutreachActions``: reaching a client outside the call — the join link, the consent
form, and recording a verbal consent.

When the one client has no address of the kind chosen, the dialog asks for it: the
server checks it, saves it on the record (audited), then sends.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from tlh.tui.dialogs.choose import Choose
from tlh.tui.dialogs.person_menu import acts_on_person, acts_on_session
from tlh.tui.dialogs.prompt import Prompt
from tlh.tui.state import SOMEONE, clean

from .keys import asks_first
from .ui import Acting

#: Sends with an address to add to the record first (None: use the one on file).
Sender = Callable[[str | None], Awaitable[object]]

CHANNELS = (("email", "Email"), ("sms", "Text message (SMS)"))


class OutreachActions(Acting):
    """Send link, send consent, verbal consent."""

    async def pick_client(self) -> tuple[str, str] | None:
        """The selected person's client, or one of the selected appointment's (asked
        when there are several): ``(id, name)``."""
        entry = self.state.entries.get(self.ui.selected_entry() or "")
        if entry is not None and entry.client_id:
            # A caregiver's entry acts on their client, named as the client.
            name = self.state.client_names.get(entry.client_id) or self.state.label(entry)
            return entry.client_id, clean(name)
        appt_id = self.chosen_appointment()
        appt = await self.appointment_record(appt_id) if appt_id else None
        ids = list(appt.client_ids) if appt is not None else []
        names = {c: clean(self.state.client_names.get(c, SOMEONE)) for c in ids}
        if len(ids) > 1:
            picked = await self.ui.ask(Choose("Which client?", list(names.items())))
            ids = [picked] if picked else []
        return (ids[0], names[ids[0]]) if ids else None

    @acts_on_session
    @asks_first
    async def send_link(self) -> None:
        """Send the selected appointment's join link by email or SMS."""
        appt_id = self.needed(self.chosen_appointment(), "send_link")
        if appt_id is None:
            return
        channel = await self.ui.ask(Choose(f"Send {self.who(appt_id)} the link by", CHANNELS))
        appt = await self.appointment_record(appt_id) if channel else None
        if channel is None or appt is None:
            return

        async def send(to: str | None) -> object:
            return await self.client.invites.send(appt_id, channel, to=to)

        await self._send(appt.client_ids, channel, send, f"link sent by {channel}")

    @acts_on_person
    @acts_on_session
    @asks_first
    async def send_consent(self) -> None:
        """Send the selected client the consent form's link by email or SMS."""
        picked = self.needed(await self.pick_client(), "send_consent")
        if picked is None:
            return
        client_id, name = picked
        channel = await self.ui.ask(Choose(f"Send {name} the consent form by", CHANNELS))
        if channel is None:
            return

        async def send(to: str | None) -> object:
            return await self.client.consents.send(client_id, channel, to=to)

        await self._send([client_id], channel, send, f"consent form sent by {channel}")

    @acts_on_person
    @acts_on_session
    @asks_first
    async def verbal_consent(self) -> None:
        """Record that the selected client consented verbally (a note is required)."""
        picked = self.needed(await self.pick_client(), "verbal_consent")
        if picked is None:
            return
        client_id, name = picked
        noted = await self.ui.ask(
            Prompt(
                f"Verbal consent of {name}: how and when did they agree?",
                submit=lambda note: self.attempt(
                    lambda: self.client.consents.verbal(client_id, note),
                    self.told("verbal consent recorded"),
                ),
                placeholder="e.g. agreed by phone after the form was read aloud",
                required="A note is required.",
            )
        )
        if noted is not None:
            await self.refresh_rooms()

    async def _send(self, client_ids: Sequence[str], channel: str, send: Sender, sent: str) -> None:
        """Send by ``channel``; when the one client has no address of that kind, ask for
        it: the server checks it, saves it on the record (audited), then sends."""
        person = None
        if len(client_ids) == 1:
            person = await self.do(lambda: self.client.clients.get(client_ids[0]))
            if person is None:
                return
        if person is None or (person.email if channel == "email" else person.phone):
            # Several clients: the server names any without an address in its refusal.
            if await self.do(lambda: send(None)) is not None:
                self.ui.toast(sent)
            return
        what = "email address" if channel == "email" else "mobile number"
        await self.ui.ask(
            Prompt(
                f"{clean(person.name)} has no {what}: add one to send",
                submit=lambda to: self.attempt(lambda: send(to), self.told(sent)),
                placeholder="name@example.org" if channel == "email" else "+15551234567",
            )
        )
