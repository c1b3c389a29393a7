"""What a practice's settings may be: each field's allowed range, and the rules between
them. ``check`` names the first setting that breaks one, with its range."""

from __future__ import annotations

from tlh.domain.models import Policy, Status
from tlh.errors import InvalidInput

#: ``field -> (lowest, highest, unit)`` for every number in the policy.
RANGES: dict[str, tuple[int, int, str]] = {
    # Practices differ (some open 5 hours before), but never a day early or late.
    "window_opens_before_min": (0, 24 * 60, "minutes"),
    "window_closes_after_min": (1, 24 * 60, "minutes"),
    "consent_valid_days": (0, 10 * 366, "days (0 = forever)"),
    "late_cancel_hours": (0, 7 * 24, "hours"),
    "late_after_min": (0, 4 * 60, "minutes"),
    "idle_logoff_min": (1, 8 * 60, "minutes"),
    "link_grace_min": (0, 24 * 60, "minutes"),
    "consent_link_days": (1, 90, "days"),
    "room_link_hours": (1, 7 * 24, "hours"),
    "website_link_days": (0, 10 * 366, "days (0 = until revoked)"),
    "reminder_email_hours": (0, 14 * 24, "hours (0 = off)"),
    "reminder_soon_min": (0, 24 * 60, "minutes (0 = off)"),
    "reminder_soon_min_floor": (0, 24 * 60, "minutes"),
    # The client portal (issue 13).
    "portal_notice_min": (0, 24 * 60, "minutes (0 = no banner)"),
    "portal_idle_min": (5, 24 * 60, "minutes"),
    # Self-scheduling (p-slots): a week's notice at most; a year ahead at most.
    "booking_min_notice_h": (0, 7 * 24, "hours"),
    "booking_max_days": (1, 366, "days"),
    "booking_slot_min": (10, 8 * 60, "minutes"),
}

#: Statuses a session may start from: a visit that was cancelled or missed never can.
STARTABLE = frozenset({Status.SCHEDULED, Status.CONFIRMED, Status.CHECKED_IN, Status.OCCURRED})


def check(policy: Policy) -> None:
    """Raise ``InvalidInput`` naming the first setting out of its range or its rules."""
    if not policy.practice_name.strip():
        raise InvalidInput("practice_name cannot be empty")
    for name, (low, high, unit) in RANGES.items():
        value = getattr(policy, name)
        if not low <= value <= high:
            raise InvalidInput(f"{name} must be between {low} and {high} {unit}; got {value}")
    if policy.reminder_soon_min and policy.reminder_soon_min_floor > policy.reminder_soon_min:
        raise InvalidInput(
            "reminder_soon_min_floor cannot be more than reminder_soon_min "
            f"({policy.reminder_soon_min})"
        )
    # Shown on the client page beside the practice's name: short, one line, plausible.
    for name in ("contact_phone", "contact_email"):
        value = getattr(policy, name)
        if len(value) > 80 or any(not ch.isprintable() for ch in value):
            raise InvalidInput(f"{name} must be one line of at most 80 characters")
    if policy.contact_email and "@" not in policy.contact_email:
        raise InvalidInput("contact_email must be an email address")
    if not policy.start_statuses:
        raise InvalidInput("start_statuses needs at least one status")
    wrong = [s.value for s in policy.start_statuses if s not in STARTABLE]
    if wrong:
        allowed = ", ".join(sorted(s.value for s in STARTABLE))
        raise InvalidInput(
            f"start_statuses cannot include {', '.join(wrong)}: a session starts only from "
            f"{allowed}"
        )
