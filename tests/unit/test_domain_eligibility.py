"""explain_start: each blocker alone, all at once, and the window in the practice's zone."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import msgspec
import pytest

from tests.unit.samples import APPT, CREATED, START
from tlh.domain.eligibility import ConsentCheck, explain_start, no_consent_check
from tlh.domain.models import (
    Appointment,
    Blocker,
    Eligibility,
    Kind,
    Modality,
    Policy,
    Role,
    Staff,
    Status,
)

NOW = START  # inside the default window

POLICY = Policy(practice_name="p", timezone="America/New_York")
CLINICIAN = Staff(
    id="stf_1",
    email="c@example.org",
    name="Clinician",
    role=Role.CLINICIAN,
    telehealth=True,
    created_at=CREATED,
    updated_at=CREATED,
)


def consent_blocker(appt: Appointment, now: datetime) -> tuple[Blocker, ...]:
    return (Blocker(code="consent_missing", message=f"client of {appt.id} has not consented"),)


Case = tuple[dict[str, Any], dict[str, Any], dict[str, Any], datetime]
# Each case: (policy changes, clinician changes, appointment changes, now) -> one code.
SINGLE: dict[str, Case] = {
    "telehealth_off_practice": ({"telehealth_enabled": False}, {}, {}, NOW),
    "telehealth_off_clinician": ({}, {"telehealth": False}, {}, NOW),
    "inactive_clinician": ({}, {"active": False}, {}, NOW),
    "not_appointment": ({}, {}, {"kind": Kind.EVENT}, NOW),
    "not_telehealth": ({}, {}, {"modality": Modality.IN_PERSON}, NOW),
    "status_not_allowed": ({}, {}, {"status": Status.SCHEDULED}, NOW),
    "not_on_appointment": ({}, {}, {"clinician_ids": ("stf_2",)}, NOW),
    "window_not_open": ({}, {}, {}, START - timedelta(minutes=11)),
    "window_closed": ({}, {}, {}, START + timedelta(hours=5)),
}


def run(case: Case, consent: ConsentCheck = no_consent_check) -> Eligibility:
    policy_changes, staff_changes, appt_changes, now = case
    return explain_start(
        msgspec.structs.replace(APPT, **appt_changes),
        msgspec.structs.replace(CLINICIAN, **staff_changes),
        msgspec.structs.replace(POLICY, **policy_changes),
        now,
        consent_check=consent,
    )


def test_can_start() -> None:
    result = explain_start(APPT, CLINICIAN, POLICY, NOW)
    assert result.can_start is True
    assert result.blockers == ()
    assert result.appointment_id == "apt_1"
    assert result.at == NOW
    assert result.window_opens == START - timedelta(minutes=10)
    assert result.window_closes == START + timedelta(hours=5)


@pytest.mark.parametrize("code", list(SINGLE))
def test_each_blocker_alone(code: str) -> None:
    result = run(SINGLE[code])
    assert [b.code for b in result.blockers] == [code]
    assert result.can_start is False
    assert all("\n" not in b.message for b in result.blockers)


def test_consent_blocker_alone() -> None:
    result = run(({}, {}, {}, NOW), consent_blocker)
    assert [b.code for b in result.blockers] == ["consent_missing"]
    assert not result.can_start


def test_consent_check_gets_appointment_and_now() -> None:
    seen: list[tuple[str, datetime]] = []

    def spy(appt: Appointment, now: datetime) -> tuple[Blocker, ...]:
        seen.append((appt.id, now))
        return ()

    explain_start(APPT, CLINICIAN, POLICY, NOW, consent_check=spy)
    assert seen == [("apt_1", NOW)]


def test_all_blockers_at_once() -> None:
    case: Case = (
        {"telehealth_enabled": False},
        {"telehealth": False, "active": False},
        {
            "kind": Kind.BLACKOUT,
            "modality": Modality.IN_PERSON,
            "status": Status.CANCELLED,
            "clinician_ids": ("stf_9",),
        },
        START - timedelta(days=1),
    )
    result = run(case, consent_blocker)
    assert [b.code for b in result.blockers] == [
        "telehealth_off_practice",
        "telehealth_off_clinician",
        "inactive_clinician",
        "not_appointment",
        "not_telehealth",
        "status_not_allowed",
        "not_on_appointment",
        "window_not_open",
        "consent_missing",
    ]
    assert result.can_start is False


def test_window_message_in_practice_zone() -> None:
    result = run(SINGLE["window_not_open"])
    assert result.blockers[0].message == (
        "the join window opens at 2026-11-23 09:50 (America/New_York)"
    )


def test_window_closed_message() -> None:
    result = run(SINGLE["window_closed"])
    assert "15:00 (America/New_York)" in result.blockers[0].message


def test_status_message_names_status_and_allowed() -> None:
    message = run(SINGLE["status_not_allowed"]).blockers[0].message
    assert "scheduled" in message
    for allowed in ("confirmed", "checked_in", "occurred"):
        assert allowed in message


@pytest.mark.parametrize(
    ("now", "open_"),
    [
        (START - timedelta(minutes=10), True),
        (START - timedelta(minutes=10, seconds=1), False),
        (START + timedelta(hours=5, seconds=-1), True),
        (START + timedelta(hours=5), False),
    ],
)
def test_window_edges(now: datetime, open_: bool) -> None:
    assert explain_start(APPT, CLINICIAN, POLICY, now).can_start is open_


def test_policy_start_statuses() -> None:
    policy = msgspec.structs.replace(POLICY, start_statuses=(Status.SCHEDULED,))
    appt = msgspec.structs.replace(APPT, status=Status.SCHEDULED)
    assert explain_start(appt, CLINICIAN, policy, NOW).can_start
    assert not explain_start(APPT, CLINICIAN, policy, NOW).can_start


def test_second_listed_clinician_may_start() -> None:
    appt = msgspec.structs.replace(APPT, clinician_ids=("stf_0", "stf_1"))
    assert explain_start(appt, CLINICIAN, POLICY, NOW).can_start


def test_messages_carry_no_names() -> None:
    result = run(
        ({"telehealth_enabled": False}, {"telehealth": False, "active": False}, {}, NOW),
    )
    for blocker in result.blockers:
        assert CLINICIAN.name not in blocker.message
        assert CLINICIAN.email not in blocker.message
