"""The invitation .ics parses back with the practice's zone, local times and the link."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Literal

import icalendar
import pytest

from tlh.domain.models import Appointment, Modality, Policy, Status
from tlh.messaging.ics import PRODID, appointment_ics

TZ = "America/New_York"
POLICY = Policy(practice_name="Riverside Counselling", timezone=TZ)
NOW = datetime(2026, 11, 1, tzinfo=UTC)
LINK = "https://tlh.example.org/j#tok3n"


def appt(start: datetime = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)) -> Appointment:
    return Appointment(
        id="apt_1",
        modality=Modality.TELEHEALTH,
        status=Status.CONFIRMED,
        clinician_ids=("stf_1",),
        client_ids=("cli_1",),
        start=start,
        duration_min=50,
        notes="Discussed anxiety; see plan",
        created_at=NOW,
        updated_at=NOW,
    )


def parse(text: str) -> tuple[icalendar.Calendar, icalendar.Component]:
    cal = icalendar.Calendar.from_ical(text)
    (event,) = cal.walk("VEVENT")
    return cal, event


def invite(
    appointment: Appointment | None = None,
    *,
    link: str = LINK,
    method: Literal["REQUEST", "CANCEL"] = "REQUEST",
    sequence: int = 0,
    organizer_email: str | None = None,
) -> str:
    return appointment_ics(
        appointment or appt(),
        POLICY,
        link=link,
        practice_name="Riverside Counselling",
        clinician_name="Dr Lee",
        method=method,
        sequence=sequence,
        organizer_email=organizer_email,
    )


def test_request_parses_back_with_zone_local_times_and_link() -> None:
    text = invite()
    cal, event = parse(text)
    assert str(cal["METHOD"]) == "REQUEST"
    assert str(cal["PRODID"]) == PRODID
    assert [str(tz["TZID"]) for tz in cal.walk("VTIMEZONE")] == [TZ]
    assert event["DTSTART"].params["TZID"] == TZ
    assert "DTSTART;TZID=America/New_York:20261123T100000" in text
    start = event.decoded("DTSTART")
    assert (start.hour, start.minute) == (10, 0)
    assert start.astimezone(UTC) == datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
    assert event.decoded("DTEND") - start == timedelta(minutes=50)
    assert str(event["UID"]) == "apt_1@tlh"
    assert str(event["SUMMARY"]) == "Video appointment with Riverside Counselling"
    assert str(event["STATUS"]) == "CONFIRMED"
    assert str(event["URL"]) == LINK
    assert LINK in str(event["DESCRIPTION"])
    assert "Dr Lee" in str(event["DESCRIPTION"])
    assert event.decoded("SEQUENCE") == 0


def test_summer_time_is_local_too() -> None:
    _, event = parse(invite(appt(datetime(2026, 7, 1, 13, 0, tzinfo=UTC))))
    assert event.decoded("DTSTART").hour == 9  # EDT


def test_no_names_or_notes_of_the_client() -> None:
    text = invite()
    assert "anxiety" not in text
    assert "cli_1" not in text


def test_cancel_has_method_status_and_sequence() -> None:
    cal, event = parse(invite(method="CANCEL", link="", sequence=2))
    assert str(cal["METHOD"]) == "CANCEL"
    assert str(event["STATUS"]) == "CANCELLED"
    assert event.decoded("SEQUENCE") == 2
    assert str(event["UID"]) == "apt_1@tlh"
    assert "URL" not in event
    assert "cancelled" in str(event["DESCRIPTION"])


@pytest.mark.parametrize("organizer", [None, "office@riverside.example"])
def test_organizer_only_when_given(organizer: str | None) -> None:
    _, event = parse(invite(organizer_email=organizer))
    if organizer is None:
        assert "ORGANIZER" not in event
    else:
        assert str(event["ORGANIZER"]) == f"mailto:{organizer}"
        assert event["ORGANIZER"].params["CN"] == "Riverside Counselling"
