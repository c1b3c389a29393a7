"""``SessionActions``: starting, explaining and ending a session, and marking an
appointment's status.

Start and explain act on the selected appointment or, with nothing selected, the next
of today's; end and mark act only on what is selected (they change records).
"""

from __future__ import annotations

from textual import work

from tlh.domain.models import Status
from tlh.domain.transitions import allowed_transitions
from tlh.errors import TlhError

from .actions_base import ActionsBase
from .dialogs.choose import Choose
from .dialogs.confirm import Confirm
from .dialogs.person_menu import acts_on_person
from .screens.schedule import ExplainScreen

#: What a clinician marks from the dashboard (other moves are the scheduler's).
MARKS = {Status.CHECKED_IN: "checked in", Status.OCCURRED: "occurred", Status.MISSED: "missed"}


class SessionActions(ActionsBase):
    """Start, explain, end session, status."""

    def _appointment(self) -> str | None:
        """The chosen appointment; with nothing selected, the next of today's (start
        and explain act on it)."""
        chosen = self._chosen_appointment()
        if chosen is not None or self._entry() in self.state.entries:
            return chosen
        upcoming = self.state.next_appointment(self.now())
        return upcoming.id if upcoming else None

    async def action_start_session(self) -> None:
        """Start the selected (or next) appointment's session and open the call page."""
        appt_id = self._appointment()
        if appt_id is None:
            self.notify("no appointment selected", markup=False)
            return
        try:
            started = await self.client.sessions.start(appt_id)
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
        found = await self._do(lambda: self.client.appointments.eligibility(appt_id))
        if found is None:
            return
        self.state.set_eligibility(found)
        title = "The session can start." if found.can_start else "The session cannot start:"
        self.push_screen(ExplainScreen(title, [b.message for b in found.blockers]))

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
        segments = await self._do(self.client.sessions.list)
        live = [s for s in segments or [] if s.ended_at is None and s.appointment_id == appt_id]
        if segments is not None and not live:
            self.notify("no session is open for this selection", markup=False)
        if not live or not await self._ask(Confirm(f"End the session with {who}?", "End")):
            return
        segment = max(live, key=lambda s: s.started_at)
        if await self._do(lambda: self.client.sessions.end(segment.id)) is not None:
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
            await self._do(lambda: self.client.appointments.set_status(appt.id, chosen))
            if chosen
            else None
        )
        if changed is not None:
            if changed.id in self.state.appointments:
                known = {**self.state.appointments, changed.id: changed}
                self.state.load_schedule(known.values(), self.state.client_names)
                self.redraw()
            self.notify(f"marked {MARKS[changed.status]}", markup=False)
