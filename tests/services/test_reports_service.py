"""Reports over segments made by the real sessions service (start, joined, left, end)."""

from __future__ import annotations

from datetime import timedelta

import msgspec
import pytest

from tests.seeding import audited, seed
from tlh.domain.models import Appointment, Client, Modality, Policy, Role, Staff, Status
from tlh.domain.reports import Outcome
from tlh.domain.sessions import Participation
from tlh.errors import BadRequest, Forbidden
from tlh.services import reports, sessions
from tlh.services.context import Actor, Context
from tlh.store.base import Put, Repository

from .conftest import NOW, TZ, RecordingEvents

DOC = Actor(kind="staff", id="stf_doc", role=Role.CLINICIAN)
SCHED = Actor(kind="staff", id="stf_sched", role=Role.SCHEDULER)
OTHER = Actor(kind="staff", id="stf_other", role=Role.CLINICIAN)


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> object:
        return self.now


@pytest.fixture
async def seeded(store: Repository) -> tuple[Context, Clock]:
    doc = await store.get(Staff, "stf_doc")
    assert doc is not None
    client = Client(id="cli_1", name="Ada", created_at=NOW, updated_at=NOW)
    appt = Appointment(
        id="apt_1",
        modality=Modality.TELEHEALTH,
        status=Status.CONFIRMED,
        clinician_ids=("stf_doc",),
        client_ids=("cli_1",),
        start=NOW,
        duration_min=50,
        created_at=NOW,
        updated_at=NOW,
    )
    await seed(
        store,
        [
            Put(Policy(practice_name="P", timezone=TZ, consent_required=False)),
            Put(msgspec.structs.replace(doc, telehealth=True)),
            Put(client),
            Put(appt),
        ],
    )
    clock = Clock()
    ctx = Context(store=store, audit=store.audit, events=RecordingEvents(), clock=clock)  # type: ignore[arg-type]
    return ctx, clock


async def test_a_real_session_shows_in_both_reports(seeded: tuple[Context, Clock]) -> None:
    ctx, clock = seeded
    segment = await sessions.start(ctx, DOC, "apt_1")
    who = Participation(
        peer_id="ent_1",
        kind="client",
        client_id="cli_1",
        channel="sms",
        joined_at=NOW + timedelta(minutes=12),
    )
    await sessions.joined(ctx, segment.id, who)
    await sessions.left(ctx, segment.id, "ent_1", NOW + timedelta(minutes=40))
    clock.now = NOW + timedelta(minutes=45)
    await sessions.end(ctx, DOC, segment.id)
    day = NOW.date().isoformat()  # 07:00 in New York: the same local day

    [row] = await reports.sessions_report(ctx, SCHED, from_=day, to=day)
    assert (row.session_id, row.duration_min, row.channels) == (segment.id, 45, ("sms",))
    [seen] = await reports.attendance_report(ctx, DOC, from_=day, to=day)
    assert (seen.outcome, seen.minutes_late, seen.channel) == (Outcome.LATE, 12, "sms")
    assert ("stf_sched", "report.sessions", "cli_1") in await audited(ctx)


async def test_clinicians_see_only_their_own(seeded: tuple[Context, Clock]) -> None:
    ctx, _ = seeded
    day = NOW.date().isoformat()
    assert await reports.attendance_report(ctx, OTHER, from_=day, to=day) == []
    with pytest.raises(Forbidden):
        await reports.attendance_report(ctx, OTHER, from_=day, to=day, clinician="doc@example.com")
    with pytest.raises(BadRequest):
        await reports.attendance_report(
            ctx, SCHED, from_=day, to=day, clinician="sched@example.com"
        )
