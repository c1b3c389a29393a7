"""Which reminders are due for an appointment at a moment (pure; the clock is passed in)."""

from __future__ import annotations

from collections.abc import Set
from datetime import datetime

import msgspec

from tlh.domain.messages import MessageChannel, MessageKind
from tlh.domain.models import Appointment, Policy


class ReminderDue(msgspec.Struct, frozen=True, kw_only=True):
    kind: MessageKind  # REMINDER_24H or REMINDER_SOON
    due_at: datetime
    channels: tuple[MessageChannel, ...]
    #: Stable per appointment and kind: the outbox dedupes on it (never sent twice).
    key: str


def due_reminders(
    appt: Appointment, policy: Policy, now: datetime, already: Set[str]
) -> list[ReminderDue]:
    """Reminders of ``appt`` due at ``now`` whose key is not in ``already``.

    24-hour: email (with join button) once ``now >= start - reminder_email_hours`` and
    before the start. Soon: text + email once ``now >= start - reminder_soon_min`` while
    at least ``reminder_soon_min_floor`` minutes remain. A reminder that fell due while
    the server was down is still due when it comes back, unless the appointment has
    started. Only appointments (kind) that are scheduled/confirmed get reminders;
    cancelled, late-cancelled, missed, occurred, checked-in get none.
    """
    raise NotImplementedError
