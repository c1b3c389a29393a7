"""iCalendar files: the invitation attached to appointment emails, and the shared pieces
the calendar export (``tlh.services.exporting``) builds with.

Times are written as local times with a ``TZID`` and a ``VTIMEZONE`` for the practice's
zone, so a calendar shows the right hour on both sides of a DST change. No client names
go into a calendar file: they get synced to phones and shared calendars.
"""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo
from typing import Literal

import icalendar

from tlh.domain.models import Appointment, Policy
from tlh.domain.timeutil import zone

#: Product id written into calendar files.
PRODID = "-//tlh//telehealth appointments//EN"

IcsMethod = Literal["REQUEST", "CANCEL"]


def new_calendar(timezone: str, *, method: IcsMethod | None = None) -> icalendar.Calendar:
    """An empty VCALENDAR for the practice's zone (with ``METHOD`` for an invitation)."""
    cal = icalendar.Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    if method is not None:
        cal.add("method", method)
    cal.add("x-wr-timezone", timezone)
    return cal


def appointment_event(
    appt: Appointment, tz: tzinfo, *, summary: str, status: str
) -> icalendar.Event:
    """A VEVENT for ``appt``: UID ``<id>@tlh``, DTSTAMP its last change, local start and
    end in ``tz``; ``summary`` and ``status`` as given (callers keep names out of them)."""
    event = icalendar.Event()
    event.add("uid", f"{appt.id}@tlh")
    event.add("dtstamp", appt.updated_at)
    event.add("dtstart", appt.start.astimezone(tz))
    event.add("dtend", appt.end.astimezone(tz))
    event.add("summary", summary)
    event.add("status", status)
    return event


def calendar_bytes(cal: icalendar.Calendar) -> bytes:
    """The finished file: the VTIMEZONEs its events need are added, then serialised.

    The VTIMEZONEs cover a year before the first event to two years after the last,
    not icalendar's default 1970-2038: every transition in 68 years cost ~3 ms a file,
    most of the time of a day's invitations.
    """
    days = [
        value.dt.date() if isinstance(value.dt, datetime) else value.dt
        for event in cal.walk("VEVENT")
        for key in ("DTSTART", "DTEND")
        if (value := event.get(key)) is not None
    ]
    if days:
        cal.add_missing_timezones(
            first_date=min(days) - timedelta(days=366),
            last_date=max(days) + timedelta(days=2 * 366),
        )
    else:
        cal.add_missing_timezones()
    return bytes(cal.to_ical())


def appointment_ics(
    appt: Appointment,
    policy: Policy,
    *,
    link: str,
    practice_name: str,
    clinician_name: str,
    method: IcsMethod,
    sequence: int = 0,
    organizer_email: str | None = None,
    video: bool = True,
) -> str:
    """The ``.ics`` attached to an invitation (``REQUEST``) or cancellation (``CANCEL``).

    SUMMARY is "Video appointment with <practice_name>"; the join ``link`` is the URL,
    the LOCATION (so a phone's calendar offers it as a tap) and part of the DESCRIPTION.
    A cancellation has STATUS CANCELLED; pass ``link=""`` when it carries none. Raise
    ``sequence`` on every update of the same appointment, so calendars replace the old
    copy (same UID). ``organizer_email``, when given, becomes the ORGANIZER that some
    calendar programs want on an invitation. ``video`` False: an appointment in person
    (turned from a video one), so neither the summary nor the description says video.
    """
    tz = zone(policy.timezone)
    cal = new_calendar(policy.timezone, method=method)
    cancelled = method == "CANCEL"
    what = "Video appointment" if video else "Appointment"
    event = appointment_event(
        appt,
        tz,
        summary=f"{what} with {practice_name}",
        status="CANCELLED" if cancelled else "CONFIRMED",
    )
    event.add("sequence", sequence)
    lines = [
        f"{what} with {clinician_name} at {practice_name}."
        if clinician_name
        else f"{what} at {practice_name}."
    ]
    if not video:
        lines.append("In person, at the practice.")
    if cancelled:
        lines.append("This appointment has been cancelled.")
    if link:
        lines.append(f"Join: {link}")
        lines.append("The link opens a few minutes before the start. Please do not share it.")
        event.add("url", link)
        event.add("location", link)
    event.add("description", "\n\n".join(lines))
    if organizer_email:
        event.add("organizer", f"mailto:{organizer_email}", parameters={"CN": practice_name})
    cal.add_component(event)
    return calendar_bytes(cal).decode("utf-8")
