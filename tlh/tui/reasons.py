"""Why a session cannot start, in words a clinician acts on: names, not ids, and the
key that fixes each reason.

The server's blockers carry a stable code (and the client a consent reason is about);
their messages name records by id, which is right for a log and wrong for a screen.
Here each code has a short phrase and the dashboard's keys that fix it, so a refusal
reads "Reese Okafor (14:30) cannot start" then "no consent — press v to record verbal
consent, c to send the form".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import msgspec

from tlh.domain.models import Appointment, Blocker, Eligibility

from .notices import SOMEONE, clean


@dataclass(frozen=True)
class Fix:
    """A key that fixes a reason: the key, its action, and what it does."""

    key: str
    action: str
    does: str


VERBAL = Fix("v", "verbal_consent", "record verbal consent")
FORM = Fix("c", "send_consent", "send the form")
MARK = Fix("S", "set_status", "mark it checked in")

#: Per blocker code: the phrase, and the keys that fix it (none: it is the practice's
#: setting or the clock).
PHRASES: dict[str, tuple[str, tuple[Fix, ...]]] = {
    "consent_missing": ("no consent", (VERBAL, FORM)),
    "consent_expired": ("consent expired", (VERBAL, FORM)),
    "consent_declined": ("consent declined", (VERBAL, FORM)),
    "consent_revoked": ("consent revoked", (VERBAL, FORM)),
    "consent_outdated": ("consent on an older form", (FORM, VERBAL)),
    "status_not_allowed": ("its status does not allow a start", (MARK,)),
    "telehealth_off_practice": ("telehealth is off for the practice (an admin turns it on)", ()),
    "telehealth_off_clinician": ("telehealth is off for you (an admin turns it on)", ()),
    "inactive_clinician": ("your account is disabled", ()),
    "not_appointment": ("it is not an appointment", ()),
    "not_telehealth": ("it is booked in person", ()),
    "not_on_appointment": ("you are not listed on it", ()),
    "window_not_open": ("too early", ()),
    "window_closed": ("too late: the join window has closed", ()),
}


@dataclass(frozen=True)
class Reason:
    """One reason, as the dialog shows it, and the keys that fix it."""

    text: str
    fixes: tuple[Fix, ...] = ()


def title(appt: Appointment | None, names: str, zone: str) -> str:
    """``Reese Okafor (14:30)``: whose session, and when (today, in the practice's zone)."""
    if appt is None:
        return names or SOMEONE
    start = appt.start.astimezone(ZoneInfo(zone)).strftime("%H:%M")
    return f"{names or SOMEONE} ({start})"


def reason(
    blocker: Blocker,
    *,
    names: Mapping[str, str],
    several: bool,
    appt: Appointment | None = None,
    verdict: Eligibility | None = None,
    zone: str = "UTC",
) -> Reason:
    """One blocker in words: the client named when the session has several, the time
    the window opens, the status that stops it; the keys that fix it."""
    phrase, fixes = PHRASES.get(blocker.code, (clean(blocker.message), ()))
    if blocker.code == "window_not_open" and verdict is not None and verdict.window_opens:
        opens = verdict.window_opens.astimezone(ZoneInfo(zone)).strftime("%H:%M")
        phrase = f"too early: the join window opens at {opens}"
    elif blocker.code == "status_not_allowed" and appt is not None:
        phrase = f"it is {appt.status.value.replace('_', ' ')}, which does not allow a start"
    if several and blocker.client_id is not None:
        phrase = f"{clean(names.get(blocker.client_id, SOMEONE))}: {phrase}"
    if fixes:
        keys = ", ".join(f"{fix.key} to {fix.does}" for fix in fixes)
        phrase = f"{phrase} — press {keys}"
    return Reason(phrase, fixes)


def reasons(
    blockers: Iterable[Blocker],
    *,
    names: Mapping[str, str],
    appt: Appointment | None = None,
    verdict: Eligibility | None = None,
    zone: str = "UTC",
) -> list[Reason]:
    """Every blocker in words (see ``reason``)."""
    several = appt is not None and len(appt.client_ids) > 1
    return [
        reason(b, names=names, several=several, appt=appt, verdict=verdict, zone=zone)
        for b in blockers
    ]


def blockers_of(details: object) -> list[Blocker]:
    """The blockers a refusal carries in its ``details`` (a 409 ``not_eligible``)."""
    if not isinstance(details, Sequence) or isinstance(details, str):
        return []
    found = []
    for item in details:
        try:
            found.append(msgspec.convert(item, Blocker))
        except msgspec.ValidationError:
            continue
    return found


def fixes_of(found: Iterable[Reason]) -> list[Fix]:
    """The fixing keys of several reasons, each once."""
    seen: dict[str, Fix] = {}
    for item in found:
        for fix in item.fixes:
            seen.setdefault(fix.key, fix)
    return list(seen.values())
