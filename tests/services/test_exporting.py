"""Export to CSV (re-importable, formula-safe), JSON and iCalendar."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import icalendar
import msgspec
import pytest

from tests.seeding import seed
from tlh.domain.models import Appointment, Client, Modality, Policy, Staff, Status
from tlh.services.context import Context
from tlh.services.exporting import escape_formula, export_appointments
from tlh.services.importing import import_appointments
from tlh.store.base import POLICY_ID, Put, Repository

from .conftest import ADMIN, NOW, TZ, make_csv, row

POLICY = Policy(practice_name="Test", timezone=TZ)


async def export(store: Repository, fmt: str) -> bytes:
    appts = sorted(
        await store.all(Appointment),
        key=lambda a: a.start,
    )
    clients = {c.id: c for c in await store.all(Client)}
    staff = {s.id: s for s in await store.all(Staff)}
    policy = await store.get(Policy, POLICY_ID)
    assert policy is not None
    return export_appointments(appts, clients, staff, policy, fmt)  # type: ignore[arg-type]


def appt(**kw: object) -> Appointment:
    fields: dict[str, object] = {
        "id": "apt_1",
        "clinician_ids": ("stf_doc",),
        "start": datetime(2026, 12, 1, 14, 0, tzinfo=UTC),
        "duration_min": 50,
        "created_at": NOW,
        "updated_at": NOW,
    }
    fields.update(kw)
    return Appointment(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("cell", "escaped"),
    [
        ("=HYPERLINK(1)", "'=HYPERLINK(1)"),
        ("+1555", "'+1555"),
        ("-2", "'-2"),
        ("@SUM", "'@SUM"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("plain", "plain"),
        ("", ""),
    ],
)
def test_escape_formula(cell: str, escaped: str) -> None:
    assert escape_formula(cell) == escaped


async def test_csv_export_reimports_unchanged(ctx: Context) -> None:
    rows = [
        row(
            external_id="e1",
            start="2026-12-01T09:00",
            client_email="ada@example.com",
            client_phone="+1 201 555 0123",
            client_dob="1990-01-02",
            notes="=cmd|' /C calc'!A0",
        ),
        row(
            start="2026-12-02T09:00",
            client_external_id="-",
            client_name="Bo",
            modality="telehealth",
            notes='quote " and\nnewline',
        ),
        row(external_id="s", start="2026-10-20T17:00", repeat="FREQ=WEEKLY;COUNT=3"),
        row(
            start="2026-12-24T00:00",
            kind="vacation",
            client_external_id="-",
            client_name="-",
            duration_min="600",
        ),
    ]
    first = await import_appointments(ctx, ADMIN, make_csv(rows), "csv")
    assert first.created == 6
    data = await export(ctx.store, "csv")
    table = list(csv.DictReader(io.StringIO(data.decode())))
    assert len(table) == 6
    formula = next(r for r in table if r["external_id"] == "e1")
    assert formula["notes"].startswith("'=")
    assert formula["client_phone"] == "'+12015550123"
    assert formula["start"] == "2026-12-01T09:00:00-05:00"
    again = await import_appointments(ctx, ADMIN, data, "csv")
    assert (again.created, again.updated, again.unchanged, again.rejected) == (0, 0, 6, 0)
    assert await ctx.store.count(Client) == 2


async def test_json_export_is_the_wire_format(ctx: Context) -> None:
    await import_appointments(ctx, ADMIN, make_csv([row(start="2026-12-01T09:00")]), "csv")
    decoded = msgspec.json.decode(await export(ctx.store, "json"), type=list[Appointment])
    assert decoded == list(await ctx.store.all(Appointment))


def test_ics_has_local_times_with_tzid_and_no_names() -> None:
    appts = [
        appt(modality=Modality.TELEHEALTH),
        appt(id="apt_2", start=datetime(2026, 7, 1, 13, 0, tzinfo=UTC), status=Status.CANCELLED),
    ]
    client = Client(id="cli_1", name="Ada Secret", created_at=NOW, updated_at=NOW)
    data = export_appointments(appts, {"cli_1": client}, {}, POLICY, "ics")
    assert b"Ada" not in data
    cal = icalendar.Calendar.from_ical(data)
    tzids = [str(tz["TZID"]) for tz in cal.walk("VTIMEZONE")]
    assert tzids == [TZ]
    first, second = cal.walk("VEVENT")
    assert str(first["UID"]) == "apt_1@tlh"
    assert str(first["SUMMARY"]) == "Telehealth appointment"
    assert first["DTSTART"].params["TZID"] == TZ
    start = first.decoded("DTSTART")
    assert (start.hour, start.minute) == (9, 0)  # local New York time in winter
    assert start.astimezone(UTC) == datetime(2026, 12, 1, 14, 0, tzinfo=UTC)
    assert first.decoded("DTEND") - start == appts[0].end - appts[0].start
    assert str(second["STATUS"]) == "CANCELLED"
    assert str(second["SUMMARY"]) == "Appointment"
    assert second.decoded("DTSTART").hour == 9  # 13:00 UTC in summer (EDT)
    assert b"DTSTART;TZID=America/New_York:20261201T090000" in data


async def test_group_appointment_survives_a_round_trip(ctx: Context) -> None:
    people = [
        Client(id=f"cli_{n}", name=f"Person {n}", created_at=NOW, updated_at=NOW) for n in (1, 2)
    ]
    group = appt(
        id="apt_group", client_ids=("cli_1", "cli_2"), clinician_ids=("stf_doc", "stf_other")
    )
    await seed(ctx.store, [*(Put(c) for c in people), Put(group)])
    report = await import_appointments(ctx, ADMIN, await export(ctx.store, "csv"), "csv")
    assert (report.unchanged, report.updated, report.created) == (1, 0, 0)
    assert await ctx.store.get(Appointment, "apt_group") == group
