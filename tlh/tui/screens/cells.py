"""Cells the People and Schedule screens share: an appointment's status in words, its
session's state, and whether it can start.

The session state uses the reports' own rule (``tlh.domain.reports``): an appointment
the Schedule calls a no-show is exactly one the Reports screen counts as one (marked
missed, or ended with nobody joining).
"""

from __future__ import annotations

from datetime import datetime

from rich.text import Text

from tlh.domain.models import Appointment, Modality, Status
from tlh.domain.reports import Outcome, attendance_rows
from tlh.tui.state import CANCELLED, DashboardState

#: Statuses as people say them.
STATUS_NAMES = {status: status.value.replace("_", " ") for status in Status}

CHECKING = "…"


def status_name(appt: Appointment) -> str:
    """``checked in``, ``late cancelled``: never the stored spelling."""
    return STATUS_NAMES[appt.status]


def session_state(state: DashboardState, appt: Appointment, now: datetime) -> str:
    """``in session``, ``waiting``, ``no-show``, ``ended`` or nothing yet."""
    if appt.status in CANCELLED:
        return ""
    segments = state.segments_of(appt.id)
    if any(s.ended_at is None for s in segments):
        return "in session"
    if state.waiting_for(appt.id):
        return "waiting"
    if state.policy is not None:
        outcomes = {r.outcome for r in attendance_rows(appt, segments, state.policy, now)}
        if outcomes == {Outcome.NO_SHOW}:
            return "no-show"
    return "ended" if segments else ""


def can_start(state: DashboardState, appt: Appointment, *, words: bool = False) -> Text:
    """✓ / ✗ with the number of reasons; ``…`` only while the server is being asked;
    blank (``in person`` with ``words``) for an in-person visit or a session not
    asked about (one that ended, one on a later day)."""
    if appt.modality is not Modality.TELEHEALTH:
        return Text("in person" if words else "")
    found = state.eligibility.get(appt.id)
    if found is None:
        return Text(CHECKING if appt.id in state.checking else "")
    if found.can_start:
        return Text("✓ can start (s)" if words else "✓ yes", style="green")
    count = len(found.blockers)
    if words:
        return Text(f"✗ {count} reason{'s' if count != 1 else ''} (e)", style="red")
    return Text(f"✗ {count} (e)", style="red")
