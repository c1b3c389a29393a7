"""``SessionActions``: starting, explaining and ending a session, and marking an
appointment's status.

Start and explain act on the selected appointment or, with nothing selected, the next
of today's; end and mark act only on what is selected (they change records). A start
refused, and explain, show the same dialog: whose session, every reason in words and
the key that fixes it.
"""

from __future__ import annotations

from tlh.domain.models import Status
from tlh.domain.transitions import allowed_transitions
from tlh.tui.dialogs.choose import Choose
from tlh.tui.dialogs.confirm import Confirm
from tlh.tui.dialogs.explain import ExplainScreen
from tlh.tui.dialogs.person_menu import acts_on_person, acts_on_session
from tlh.tui.reasons import reasons
from tlh.tui.screens.cells import STATUS_NAMES

from .keys import asks_first
from .ui import Acting

#: What a clinician marks from the dashboard (other moves are the scheduler's).
MARKS = {Status.CHECKED_IN: "checked in", Status.OCCURRED: "occurred", Status.MISSED: "missed"}


class SessionActions(Acting):
    """Start, explain, end session, status."""

    def appointment(self) -> str | None:
        """The chosen appointment; with nothing selected, the next of today's (start
        and explain act on it)."""
        chosen = self.chosen_appointment()
        if chosen is not None or self.ui.selected_entry() in self.state.entries:
            return chosen
        upcoming = self.state.next_appointment(self.now())
        return upcoming.id if upcoming else None

    @acts_on_session
    async def start_session(self) -> None:
        """Start the selected (or next) appointment's session and open the call page."""
        appt_id = self.needed(self.appointment(), "start_session")
        if appt_id is None:
            return
        started = await self.do(lambda: self.client.sessions.start(appt_id), about=appt_id)
        if started is not None:
            self.ui.open_call(started.url)

    @acts_on_person
    @acts_on_session
    async def explain(self) -> None:
        """Show every reason the selected appointment's session cannot start."""
        appt_id = self.needed(self.appointment(), "explain")
        if appt_id is None:
            return
        found = await self.do(lambda: self.client.appointments.eligibility(appt_id))
        if found is None:
            return
        self.state.set_eligibility(found)
        appt = self.known_appointment(appt_id)
        whose = self.session_title(appt_id)
        head = f"{whose} can start." if found.can_start else f"{whose} cannot start:"
        said = reasons(
            found.blockers,
            names=self.state.client_names,
            appt=appt,
            verdict=found,
            zone=self.state.zone,
        )
        self.ui.show(ExplainScreen(head, said), about=appt_id)

    @acts_on_person
    @acts_on_session
    @asks_first
    async def end_session(self) -> None:
        """End the open session of the selected person's (or appointment's) appointment."""
        entry = self.state.entries.get(self.ui.selected_entry() or "")
        appt_id = entry.appointment_id if entry is not None else self.chosen_appointment()
        if entry is None and appt_id is None:
            self.needed(None, "end_session")
            return
        who = self.state.label(entry) if entry is not None else self.who(appt_id)
        segments = await self.do(self.client.sessions.list)
        live = [s for s in segments or [] if s.ended_at is None and s.appointment_id == appt_id]
        if segments is not None and not live:
            self.needed(None, "end_session")
        if not live or not await self.ui.ask(Confirm(f"End the session with {who}?", "End")):
            return
        segment = max(live, key=lambda s: s.started_at)
        if await self.do(lambda: self.client.sessions.end(segment.id)) is not None:
            self.ui.toast("session ended")
            await self.refresh_rooms()

    @acts_on_session
    @asks_first
    async def set_status(self) -> None:
        """Mark the selected appointment checked in, occurred or missed."""
        appt_id = self.needed(self.chosen_appointment(), "set_status")
        appt = await self.appointment_record(appt_id) if appt_id else None
        if appt is None:
            return
        allowed = allowed_transitions(appt.status)
        options = [(s.value, label) for s, label in MARKS.items() if s in allowed]
        if not options:
            self.ui.toast(f"a {STATUS_NAMES[appt.status]} appointment cannot be marked here")
            return
        title = f"{self.who(appt.id)}: {STATUS_NAMES[appt.status]}, mark as"
        chosen = await self.ui.ask(Choose(title, options))
        changed = (
            await self.do(lambda: self.client.appointments.set_status(appt.id, chosen))
            if chosen
            else None
        )
        if changed is not None:
            # In its place: today's or a next day's (the rest of the Schedule stays).
            self.state.replace_appointment(changed)
            self.ui.toast(f"marked {MARKS[changed.status]}")
