"""The reminder clock's rules: when each reminder falls due, and when none does."""

from __future__ import annotations

from datetime import datetime, timedelta

import msgspec
import pytest

from tests.unit.samples import APPT, START
from tlh.domain.messages import MessageChannel, MessageKind
from tlh.domain.models import Appointment, Kind, Modality, Policy, Status
from tlh.domain.reminders import due_reminders, reminder_key

POLICY = Policy(practice_name="p")  # 24 h email; soon at 30 min, floor 15 min
K24 = reminder_key(MessageKind.REMINDER_24H, APPT)
KSOON = reminder_key(MessageKind.REMINDER_SOON, APPT)
H, M = timedelta(hours=1), timedelta(minutes=1)


def kinds(now: datetime, already: set[str] | None = None, appt: Appointment = APPT) -> list[str]:
    return [r.kind.value for r in due_reminders(appt, POLICY, now, already or set())]


def test_keys_are_stable_and_name_the_start() -> None:
    assert K24 == "reminder_24h:apt_1:20261123T1500Z"
    assert KSOON == "reminder_soon:apt_1:20261123T1500Z"
    moved = msgspec.structs.replace(APPT, start=START + H)
    assert reminder_key(MessageKind.REMINDER_24H, moved) != K24


@pytest.mark.parametrize(
    ("before_start", "already", "expected"),
    [
        (48 * H, set(), []),
        (24 * H + timedelta(seconds=1), set(), []),
        (24 * H, set(), ["reminder_24h"]),
        (2 * H, set(), ["reminder_24h"]),  # fell due while the server was down
        (2 * H, {K24}, []),
        (31 * M, {K24}, []),
        (30 * M, {K24}, ["reminder_soon"]),
        (15 * M, {K24}, ["reminder_soon"]),  # the floor itself still counts
        (15 * M - timedelta(seconds=1), {K24}, []),  # too late for "soon"
        (20 * M, {K24, KSOON}, []),
        # The soon reminder supersedes a 24-hour one that never went out.
        (20 * M, set(), ["reminder_soon"]),
        (5 * M, {KSOON}, []),
        # Too late for soon, but the day-before one never went out: still worth sending.
        (5 * M, set(), ["reminder_24h"]),
        (timedelta(0), set(), []),  # started
        (-H, set(), []),  # passed
    ],
)
def test_due(before_start: timedelta, already: set[str], expected: list[str]) -> None:
    assert kinds(START - before_start, already) == expected


def test_due_fields() -> None:
    (day,) = due_reminders(APPT, POLICY, START - 3 * H, set())
    assert day.key == K24
    assert day.due_at == START - 24 * H
    assert day.channels == (MessageChannel.EMAIL,)
    (soon,) = due_reminders(APPT, POLICY, START - 20 * M, {K24})
    assert soon.key == KSOON
    assert soon.due_at == START - 30 * M
    assert soon.channels == (MessageChannel.SMS, MessageChannel.EMAIL)


def test_after_restart_every_tick_is_idempotent() -> None:
    sent: set[str] = set()
    now = START - 30 * H
    log: list[str] = []
    while now < START + H:
        for due in due_reminders(APPT, POLICY, now, sent):
            sent.add(due.key)
            log.append(due.kind.value)
        now += 7 * M
    assert log == ["reminder_24h", "reminder_soon"]


@pytest.mark.parametrize(
    "status",
    [Status.CANCELLED, Status.LATE_CANCELLED, Status.MISSED, Status.OCCURRED, Status.CHECKED_IN],
)
def test_no_reminders_for_settled_appointments(status: Status) -> None:
    appt = msgspec.structs.replace(APPT, status=status)
    assert kinds(START - 2 * H, appt=appt) == []
    assert kinds(START - 20 * M, {K24}, appt=appt) == []


def test_scheduled_gets_reminders() -> None:
    appt = msgspec.structs.replace(APPT, status=Status.SCHEDULED)
    assert kinds(START - 2 * H, appt=appt) == ["reminder_24h"]


@pytest.mark.parametrize(
    "change",
    [{"modality": Modality.IN_PERSON}, {"kind": Kind.EVENT}],
)
def test_only_telehealth_appointments(change: dict[str, object]) -> None:
    appt = msgspec.structs.replace(APPT, **change)
    assert kinds(START - 2 * H, appt=appt) == []


def test_reminders_can_be_turned_off() -> None:
    off = Policy(practice_name="p", reminder_email_hours=0, reminder_soon_min=0)
    assert due_reminders(APPT, off, START - 2 * H, set()) == []
    assert due_reminders(APPT, off, START - 20 * M, set()) == []


def test_custom_schedule() -> None:
    policy = Policy(
        practice_name="p", reminder_email_hours=48, reminder_soon_min=60, reminder_soon_min_floor=5
    )
    assert [r.kind for r in due_reminders(APPT, policy, START - 47 * H, set())] == [
        MessageKind.REMINDER_24H
    ]
    k24 = reminder_key(MessageKind.REMINDER_24H, APPT)
    assert [r.kind for r in due_reminders(APPT, policy, START - 6 * M, {k24})] == [
        MessageKind.REMINDER_SOON
    ]


@pytest.mark.parametrize(
    ("invited_before_start", "expected"),
    [
        (None, ["reminder_24h"]),
        (30 * H, ["reminder_24h"]),  # invited days ago: the day-before reminder still goes
        (24 * H, []),  # invited once it was due: the invitation stands in for it
        (3 * H, []),  # booked tonight for tomorrow morning
    ],
)
def test_an_invitation_sent_once_the_day_before_reminder_is_due_stands_in_for_it(
    invited_before_start: timedelta | None, expected: list[str]
) -> None:
    invited = None if invited_before_start is None else START - invited_before_start
    found = due_reminders(APPT, POLICY, START - 2 * H, set(), invited)
    assert [r.kind.value for r in found] == expected
    # The soon reminder is not the invitation's to replace.
    soon = due_reminders(APPT, POLICY, START - 20 * M, {K24}, START - 3 * H)
    assert [r.kind.value for r in soon] == ["reminder_soon"]
