"""Which reminders are due for an appointment at a moment (pure; the clock is passed in)."""

from __future__ import annotations

from collections.abc import Set
from datetime import UTC, datetime, timedelta

import msgspec

from tlh.domain.messages import MessageChannel, MessageKind
from tlh.domain.models import Appointment, Kind, Modality, Policy, Status


class ReminderDue(msgspec.Struct, frozen=True, kw_only=True):
    kind: MessageKind  # REMINDER_24H or REMINDER_SOON
    due_at: datetime
    channels: tuple[MessageChannel, ...]
    #: Stable per appointment and kind: the outbox dedupes on it (never sent twice).
    key: str


#: Statuses that still expect the client to turn up (and so to be reminded).
REMINDED_STATUSES: frozenset[Status] = frozenset({Status.SCHEDULED, Status.CONFIRMED})

#: Channels per reminder kind; the caller narrows them to each recipient's settings.
CHANNELS: dict[MessageKind, tuple[MessageChannel, ...]] = {
    MessageKind.REMINDER_24H: (MessageChannel.EMAIL,),
    MessageKind.REMINDER_SOON: (MessageChannel.SMS, MessageChannel.EMAIL),
}


def reminder_key(kind: MessageKind, appt: Appointment) -> str:
    """The reminder's stable key: ``reminder_24h:<appt id>:<start, UTC, YYYYMMDDTHHMMZ>``.

    The start is part of it so that a rescheduled appointment is reminded again for its
    new time, while restarts and repeated ticks at the same start never repeat one.
    """
    start = appt.start.astimezone(UTC).strftime("%Y%m%dT%H%MZ")
    return f"{kind.value}:{appt.id}:{start}"


def due_reminders(
    appt: Appointment,
    policy: Policy,
    now: datetime,
    already: Set[str],
    invited_at: datetime | None = None,
) -> list[ReminderDue]:
    """Reminders of ``appt`` due at ``now`` whose key is not in ``already``.

    24-hour: email (with join button) once ``now >= start - reminder_email_hours`` and
    before the start; by text too when texts may carry links
    (``sms_reminders_include_link``: it carries the one-tap confirm and cancel links). Soon: text + email once ``now >= start - reminder_soon_min`` while
    at least ``reminder_soon_min_floor`` minutes remain. A reminder that fell due while
    the server was down is still due when it comes back, unless the appointment has
    started. Only telehealth appointments (kind) that are scheduled/confirmed get
    reminders; cancelled, late-cancelled, missed, occurred, checked-in get none.

    The soon reminder supersedes a 24-hour one that has not gone out by then (one email
    instead of two in the same minute, e.g. after a restart or for a late booking).
    So does an invitation carrying the join link sent once the 24-hour reminder was due
    (``invited_at``: the latest such invitation or reschedule notice): a visit booked
    tonight for tomorrow morning gets its invitation, not a reminder a minute later.
    Keys come from ``reminder_key``; the list is in due order.
    """
    if (
        appt.kind is not Kind.APPOINTMENT
        or appt.modality is not Modality.TELEHEALTH
        or appt.status not in REMINDED_STATUSES
        or now >= appt.start
    ):
        return []
    due: list[ReminderDue] = []
    soon_key = reminder_key(MessageKind.REMINDER_SOON, appt)
    if policy.reminder_soon_min > 0:
        soon_at = appt.start - timedelta(minutes=policy.reminder_soon_min)
        floor_at = appt.start - timedelta(minutes=policy.reminder_soon_min_floor)
        if soon_at <= now <= floor_at and soon_key not in already:
            due.append(_due(MessageKind.REMINDER_SOON, soon_at, soon_key))
    superseded = soon_key in already or bool(due)
    if policy.reminder_email_hours > 0 and not superseded:
        email_at = appt.start - timedelta(hours=policy.reminder_email_hours)
        key = reminder_key(MessageKind.REMINDER_24H, appt)
        invited = invited_at is not None and invited_at >= email_at
        if now >= email_at and key not in already and not invited:
            day_before = _due(MessageKind.REMINDER_24H, email_at, key)
            if policy.sms_reminders_include_link:
                # Texts may carry links: the day-before text carries the one-tap confirm
                # and cancel links (issue 13), so it goes to those reminded by text too.
                day_before = msgspec.structs.replace(
                    day_before, channels=(MessageChannel.EMAIL, MessageChannel.SMS)
                )
            due.insert(0, day_before)
    return due


def _due(kind: MessageKind, at: datetime, key: str) -> ReminderDue:
    return ReminderDue(kind=kind, due_at=at, channels=CHANNELS[kind], key=key)
