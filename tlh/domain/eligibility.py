"""Can this telehealth session start? Every reason it cannot.

All checks run, so a clinician (or the person helping them) sees the whole list at
once instead of fixing one thing at a time.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime

from tlh.domain.models import Appointment, Blocker, Eligibility, Kind, Modality, Policy, Staff
from tlh.domain.timeutil import format_local, zone
from tlh.domain.window import join_window

#: Hook filled in by the consent issue: given the appointment and ``now``, the
#: blockers that consent adds (none until consent exists).
ConsentCheck = Callable[[Appointment, datetime], tuple[Blocker, ...]]


def no_consent_check(appt: Appointment, now: datetime) -> tuple[Blocker, ...]:
    """The default consent hook: consent never blocks."""
    return ()


def explain_start(
    appt: Appointment,
    clinician: Staff,
    policy: Policy,
    now: datetime,
    consent_check: ConsentCheck = no_consent_check,
    clinicians: Mapping[str, Staff] | None = None,
) -> Eligibility:
    """Every reason ``clinician`` cannot start ``appt`` at ``now`` (empty = can start).

    Codes: ``telehealth_off_practice``, ``telehealth_off_clinician``, ``not_appointment``,
    ``not_telehealth``, ``status_not_allowed``, ``not_on_appointment``, ``inactive_clinician``,
    ``window_not_open`` (message says when it opens, in the practice's zone),
    ``window_closed``, plus whatever ``consent_check`` returns.

    ``clinicians`` (staff by id) is accepted for callers that hold the records of the
    appointment's clinicians; the rules here need only ``clinician`` and ignore it.
    """
    tz = zone(policy.timezone)
    window = join_window(appt, policy)
    blockers: list[Blocker] = []

    def block(code: str, message: str) -> None:
        blockers.append(Blocker(code=code, message=message))

    if not policy.telehealth_enabled:
        block("telehealth_off_practice", "telehealth is turned off for the practice")
    if not clinician.telehealth:
        block(
            "telehealth_off_clinician",
            f"telehealth is not enabled for clinician {clinician.id}",
        )
    if not clinician.active:
        block("inactive_clinician", f"clinician {clinician.id} is disabled")
    if appt.kind is not Kind.APPOINTMENT:
        block(
            "not_appointment",
            f"{appt.id} is a {appt.kind.value}, not an appointment; only appointments can be telehealth",
        )
    if appt.modality is not Modality.TELEHEALTH:
        block("not_telehealth", f"appointment {appt.id} is {appt.modality.value}, not telehealth")
    if appt.status not in policy.start_statuses:
        allowed = ", ".join(s.value for s in policy.start_statuses) or "none"
        block(
            "status_not_allowed",
            f"status {appt.status.value} does not allow a start (allowed: {allowed})",
        )
    if clinician.id not in appt.clinician_ids:
        block(
            "not_on_appointment",
            f"clinician {clinician.id} is not listed on appointment {appt.id}",
        )
    if now < window.opens:
        block(
            "window_not_open",
            f"the join window opens at {format_local(window.opens, tz)} ({policy.timezone})",
        )
    elif now >= window.closes:
        block(
            "window_closed",
            f"the join window closed at {format_local(window.closes, tz)} ({policy.timezone})",
        )
    blockers.extend(consent_check(appt, now))
    return Eligibility(
        appointment_id=appt.id,
        at=now,
        can_start=not blockers,
        blockers=tuple(blockers),
        window_opens=window.opens,
        window_closes=window.closes,
    )


#: What stops a session from ever starting by video as booked, whenever it is tried:
#: telehealth off (practice, every listed clinician), a disabled clinician, not a
#: telehealth appointment. Not the window (a link is sent before it opens), the consent
#: (the link leads through the form first) or a status the practice can still move to a
#: startable one (a scheduled visit confirmed later).
STANDING_CODES = frozenset(
    {
        "telehealth_off_practice",
        "telehealth_off_clinician",
        "inactive_clinician",
        "not_appointment",
        "not_telehealth",
    }
)


def video_blockers(
    appt: Appointment, clinicians: Mapping[str, Staff], policy: Policy
) -> tuple[Blocker, ...]:
    """Why ``appt`` cannot take place by video under the rules at all (empty when one of
    its clinicians could start it): what decides whether an invitation or a reminder
    carries a join link. ``clinicians`` holds the appointment's clinicians by id."""
    found: tuple[Blocker, ...] = ()
    for clinician_id in appt.clinician_ids:
        staff = clinicians.get(clinician_id)
        if staff is None:
            continue
        verdict = explain_start(appt, staff, policy, appt.start)
        standing = tuple(b for b in verdict.blockers if b.code in STANDING_CODES)
        if not standing:
            return ()
        found = found or standing
    return found or (Blocker(code="no_clinician", message=f"{appt.id} has no clinician"),)
