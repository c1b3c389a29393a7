"""Can this telehealth session start? Every reason it cannot."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime

from tlh.domain.models import Appointment, Blocker, Eligibility, Policy, Staff

#: Hook filled in by the consent issue: given the appointment and ``now``, the
#: blockers that consent adds (none until consent exists).
ConsentCheck = Callable[[Appointment, datetime], tuple[Blocker, ...]]


def no_consent_check(appt: Appointment, now: datetime) -> tuple[Blocker, ...]:
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
    """
    raise NotImplementedError
