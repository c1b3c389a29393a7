"""Bulk appointment import: validation per row, atomicity, idempotency, conflicts."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import msgspec
import pytest

from tests.seeding import audited, seed
from tlh.domain.models import Appointment, Client, Kind, Modality, Role, Status
from tlh.errors import Forbidden, InvalidInput
from tlh.services.context import Actor, Context
from tlh.services.importing import import_appointments
from tlh.store.base import Put, Repository

from .conftest import ADMIN, NOW, make_csv, row


async def appointments(store: Repository) -> list[Appointment]:
    return sorted(
        await store.all(Appointment),
        key=lambda a: (a.start, a.external_id or ""),
    )


async def clients(store: Repository) -> list[Client]:
    return list(await store.all(Client))


async def test_creates_appointments_and_a_client_once(ctx: Context) -> None:
    data = make_csv(
        [
            row(external_id="e1", start="2026-12-01T09:00", client_email="Ada@Example.com"),
            row(external_id="e2", start="2026-12-02T09:00", modality="telehealth"),
        ]
    )
    report = await import_appointments(ctx, ADMIN, data, "csv")
    assert (report.created, report.updated, report.unchanged, report.rejected) == (2, 0, 0, 0)
    assert [r.action for r in report.rows] == ["create", "create"]
    assert [r.row for r in report.rows] == [2, 3]
    first, second = await appointments(ctx.store)
    assert first.start == datetime(2026, 12, 1, 14, 0, tzinfo=UTC)  # 09:00 in New York
    assert first.clinician_ids == ("stf_doc",)
    assert (first.kind, first.modality, first.status) == (
        Kind.APPOINTMENT,
        Modality.IN_PERSON,
        Status.SCHEDULED,
    )
    assert second.modality is Modality.TELEHEALTH
    (client,) = await clients(ctx.store)
    assert (client.external_id, client.email, client.name) == (
        "C1",
        "ada@example.com",
        "Ada Lovelace",
    )
    assert first.client_ids == second.client_ids == (client.id,)
    assert report.rows[0].id == first.id
    audit = await audited(ctx)
    assert ("stf_admin", "client.create", client.id) in audit
    assert sorted(t for _, a, t in audit if a == "appointment.import") == sorted(
        [first.id, second.id]
    )
    assert ctx.events.published == [  # type: ignore[attr-defined]
        ("appointments.imported", {"created": 2, "updated": 0})
    ]


async def test_json_import(ctx: Context) -> None:
    items = [
        {
            "external_id": "j1",
            "clinician_email": "doc@example.com",
            "start": "2026-12-01T09:00:00-05:00",
            "duration_min": 45,
            "client_name": "Ada",
            "client_email": "ada@example.com",
        }
    ]
    report = await import_appointments(ctx, ADMIN, json.dumps(items).encode(), "json")
    assert report.created == 1
    (appt,) = await appointments(ctx.store)
    assert appt.duration_min == 45
    assert appt.start == datetime(2026, 12, 1, 14, 0, tzinfo=UTC)


BAD_ROWS = [
    ({"clinician_email": "nobody@example.com"}, "clinician_email", "no active clinician"),
    ({"clinician_email": "gone@example.com"}, "clinician_email", "no active clinician"),
    ({"clinician_email": "sched@example.com"}, "clinician_email", "no active clinician"),
    ({"start": "next tuesday"}, "start", "not a date and time"),
    ({"start": "2026-03-08T02:30"}, "start", "does not exist"),  # DST gap in New York
    ({"start": "2026-11-01T01:30"}, "start", "is ambiguous"),  # ambiguous hour in New York
    ({"duration_min": "0"}, "duration_min", "between 1 and 1440"),
    ({"duration_min": "1441"}, "duration_min", "between 1 and 1440"),
    ({"duration_min": "fifty"}, "duration_min", "not a whole number"),
    ({"modality": "video"}, "modality", "must be one of: telehealth, in_person"),
    ({"kind": "meeting"}, "kind", "must be one of"),
    ({"status": "done"}, "status", "must be one of"),
    ({"kind": "event", "modality": "telehealth"}, "modality", "only kind appointment"),
    ({"repeat": "FREQ=SOMETIMES"}, "repeat", "invalid recurrence rule"),
    ({"repeat": "FREQ=DAILY;COUNT=500"}, "repeat", "more than the 200"),
    ({"notes": "x" * 2001}, "notes", "longer than 2000"),
    ({"client_email": "not-an-email"}, "client_email", "invalid email address"),
    ({"client_external_id": "NEW", "client_phone": "12"}, "client_phone", "invalid phone number"),
    ({"client_external_id": "NEW", "client_dob": "2030-01-01"}, "client_dob", "in the future"),
    ({"client_language": "klingon"}, "client_language", "use one of en, es"),
    (
        {"client_external_id": "NEW", "client_name": "Ada\x1b[2J"},
        "client_name",
        "control characters",
    ),
    ({"client_external_id": "-", "client_name": "-"}, "client_name", "no client"),
    ({"client_external_id": "NOPE", "client_name": "-"}, "client_external_id", "add client_name"),
    ({"kind": "vacation"}, "client_external_id", "a vacation has no client"),
]


@pytest.mark.parametrize(("cells", "column", "reason"), BAD_ROWS)
async def test_bad_row_is_rejected_with_row_and_column(
    ctx: Context, cells: dict[str, str], column: str, reason: str
) -> None:
    good = row(external_id="ok", start="2026-12-01T09:00")
    bad = row(external_id="bad", start="2026-12-02T09:00") | cells
    bad = {k: v for k, v in bad.items() if v != "-"}
    with pytest.raises(InvalidInput) as err:
        await import_appointments(ctx, ADMIN, make_csv([good, bad]), "csv")
    details = err.value.details
    assert [(d["row"], d["column"]) for d in details] == [(3, column)]
    assert reason in details[0]["reason"]
    assert err.value.message.startswith(f"row 3, column {column}: ")
    assert "Ada" not in err.value.message
    assert await ctx.store.count(Appointment) == 0
    assert await ctx.store.count(Client) == 0
    assert await audited(ctx) == []  # type: ignore[attr-defined]
    assert ctx.events.published == []  # type: ignore[attr-defined]


async def test_all_row_errors_are_reported_together(ctx: Context) -> None:
    data = make_csv(
        [
            row(start="2026-12-01T09:00", duration_min="0"),
            row(start="2026-12-02T09:00"),
            row(start="garbage", modality="video"),
        ]
    )
    with pytest.raises(InvalidInput) as err:
        await import_appointments(ctx, ADMIN, data, "csv")
    assert [(d["row"], d["column"]) for d in err.value.details] == [
        (2, "duration_min"),
        (4, "modality"),
        (4, "start"),
    ]
    assert err.value.message.endswith("(and 2 more errors, see details)")


async def test_partial_commits_the_valid_rows(ctx: Context) -> None:
    data = make_csv(
        [
            row(external_id="e1", start="2026-12-01T09:00"),
            row(external_id="e2", start="2026-12-02T09:00", duration_min="-5"),
            row(external_id="e3", start="2026-12-03T09:00"),
        ]
    )
    report = await import_appointments(ctx, ADMIN, data, "csv", partial=True)
    assert (report.created, report.rejected) == (2, 1)
    assert [r.action for r in report.rows] == ["create", "rejected", "create"]
    assert report.rows[1].errors[0].column == "duration_min"
    assert report.rows[1].id is None
    assert [a.external_id for a in await appointments(ctx.store)] == ["e1", "e3"]


async def test_dry_run_writes_nothing(ctx: Context) -> None:
    data = make_csv([row(external_id="e1", start="2026-12-01T09:00")])
    report = await import_appointments(ctx, ADMIN, data, "csv", dry_run=True)
    assert report.dry_run
    assert report.created == 1
    assert await ctx.store.count(Appointment) == 0
    assert await ctx.store.count(Client) == 0
    assert await audited(ctx) == []  # type: ignore[attr-defined]
    assert ctx.events.published == []  # type: ignore[attr-defined]


async def test_dry_run_rejects_like_a_real_run(ctx: Context) -> None:
    data = make_csv([row(start="2026-12-01T09:00", duration_min="0")])
    with pytest.raises(InvalidInput):
        await import_appointments(ctx, ADMIN, data, "csv", dry_run=True)
    report = await import_appointments(ctx, ADMIN, data, "csv", dry_run=True, partial=True)
    assert report.rejected == 1


async def test_import_twice_is_unchanged_and_a_modified_row_updates(ctx: Context) -> None:
    rows = [
        row(external_id="e1", start="2026-12-01T09:00"),
        row(external_id="e2", start="2026-12-02T09:00"),
    ]
    await import_appointments(ctx, ADMIN, make_csv(rows), "csv")
    before = await appointments(ctx.store)
    again = await import_appointments(ctx, ADMIN, make_csv(rows), "csv")
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)
    assert [r.action for r in again.rows] == ["unchanged", "unchanged"]
    assert await appointments(ctx.store) == before
    assert len(ctx.events.published) == 1  # type: ignore[attr-defined]

    rows[1]["duration_min"] = "30"
    changed = await import_appointments(ctx, ADMIN, make_csv(rows), "csv")
    assert (changed.created, changed.updated, changed.unchanged) == (0, 1, 1)
    after = await appointments(ctx.store)
    assert [a.id for a in after] == [a.id for a in before]
    assert after[1].duration_min == 30
    assert after[1].updated_at == NOW
    assert await ctx.store.count(Client) == 1


async def test_empty_status_keeps_the_existing_one(ctx: Context) -> None:
    rows = [row(external_id="e1", start="2026-12-01T09:00")]
    await import_appointments(ctx, ADMIN, make_csv(rows), "csv")
    (appt,) = await appointments(ctx.store)
    await seed(ctx.store, [Put(_replace(appt, status=Status.CONFIRMED))])
    again = await import_appointments(ctx, ADMIN, make_csv(rows), "csv")
    assert again.unchanged == 1


async def test_status_change_follows_the_transition_rules(ctx: Context) -> None:
    rows = [row(external_id="e1", start="2026-12-01T09:00", status="occurred")]
    await import_appointments(ctx, ADMIN, make_csv(rows), "csv")
    rows[0]["status"] = "cancelled"  # occurred -> cancelled is not a transition
    with pytest.raises(InvalidInput) as err:
        await import_appointments(ctx, ADMIN, make_csv(rows), "csv")
    assert err.value.details[0]["column"] == "status"
    assert "cannot change status from occurred to cancelled" in err.value.details[0]["reason"]


async def test_duplicate_external_id_names_the_first_row(ctx: Context) -> None:
    data = make_csv(
        [
            row(external_id="e1", start="2026-12-01T09:00"),
            row(external_id="e2", start="2026-12-02T09:00"),
            row(external_id="e1", start="2026-12-03T09:00"),
        ]
    )
    with pytest.raises(InvalidInput) as err:
        await import_appointments(ctx, ADMIN, data, "csv")
    assert err.value.details == [
        {"row": 4, "column": "external_id", "reason": "duplicate of row 2"}
    ]


async def test_series_row_expands_at_the_same_local_time(ctx: Context) -> None:
    # Weekly at 17:00 New York time across the end of DST (1 November 2026).
    rows = [row(external_id="s1", start="2026-10-20T17:00", repeat="FREQ=WEEKLY;COUNT=4")]
    report = await import_appointments(ctx, ADMIN, make_csv(rows), "csv")
    assert (report.created, len(report.rows)) == (4, 1)
    series = await appointments(ctx.store)
    assert [a.external_id for a in series] == ["s1#1", "s1#2", "s1#3", "s1#4"]
    assert [a.start.hour for a in series] == [21, 21, 22, 22]  # UTC: EDT then EST
    assert len({a.series_id for a in series}) == 1
    assert series[0].series_id is not None
    assert series[0].rrule == "FREQ=WEEKLY;COUNT=4"
    assert len({a.client_ids for a in series}) == 1
    again = await import_appointments(ctx, ADMIN, make_csv(rows), "csv")
    assert again.unchanged == 4


async def test_series_without_external_id(ctx: Context) -> None:
    rows = [row(start="2026-12-01T09:00", repeat="RRULE:FREQ=DAILY;COUNT=3")]
    report = await import_appointments(ctx, ADMIN, make_csv(rows), "csv")
    assert report.created == 3
    assert {a.external_id for a in await appointments(ctx.store)} == {None}


# -- clients ----------------------------------------------------------------------------


async def _seed_client(ctx: Context, id: str, **kw: object) -> None:
    client = Client(id=id, name=id, created_at=NOW, updated_at=NOW, **kw)  # type: ignore[arg-type]
    await seed(ctx.store, [Put(client)])


async def test_client_matched_by_external_id_then_email(ctx: Context) -> None:
    await _seed_client(ctx, "cli_ext", external_id="C9")
    await _seed_client(ctx, "cli_mail", email="bo@example.com")
    data = make_csv(
        [
            row(start="2026-12-01T09:00", client_external_id="C9", client_name="-"),
            row(start="2026-12-02T09:00", client_external_id="-", client_email="BO@example.com"),
            row(
                start="2026-12-03T09:00",
                client_external_id="-",
                client_name="-",
                client_email="bo@example.com",
            ),
        ]
    )
    await import_appointments(ctx, ADMIN, data, "csv")
    assert [a.client_ids for a in await appointments(ctx.store)] == [
        ("cli_ext",),
        ("cli_mail",),
        ("cli_mail",),
    ]
    assert await ctx.store.count(Client) == 2


async def test_two_clients_with_the_email_is_ambiguous(ctx: Context) -> None:
    await _seed_client(ctx, "cli_a", email="twin@example.com")
    await _seed_client(ctx, "cli_b", email="twin@example.com")
    data = make_csv(
        [row(start="2026-12-01T09:00", client_external_id="-", client_email="twin@example.com")]
    )
    with pytest.raises(InvalidInput) as err:
        await import_appointments(ctx, ADMIN, data, "csv")
    (detail,) = err.value.details
    assert (detail["row"], detail["column"]) == (2, "client_email")
    assert "2 clients have this email" in detail["reason"]
    assert "twin" not in err.value.message


async def test_email_match_with_another_external_id_is_an_error(ctx: Context) -> None:
    await _seed_client(ctx, "cli_a", email="a@example.com", external_id="X1")
    data = make_csv(
        [row(start="2026-12-01T09:00", client_external_id="X2", client_email="a@example.com")]
    )
    with pytest.raises(InvalidInput) as err:
        await import_appointments(ctx, ADMIN, data, "csv")
    assert err.value.details[0]["column"] == "client_external_id"


async def test_new_client_named_by_several_rows_is_created_once(ctx: Context) -> None:
    data = make_csv(
        [
            row(
                start=f"2026-12-0{d}T09:00",
                client_external_id="-",
                client_email="new@example.com",
                client_phone="(201) 555-0123",
                client_dob="1990-05-01",
            )
            for d in (1, 2, 3)
        ]
    )
    report = await import_appointments(ctx, ADMIN, data, "csv")
    assert report.created == 3
    (client,) = await clients(ctx.store)
    assert (client.phone, client.dob.isoformat() if client.dob else None) == (
        "+12015550123",
        "1990-05-01",
    )
    assert {a.client_ids for a in await appointments(ctx.store)} == {(client.id,)}


async def test_a_new_client_gets_the_language_of_the_row(ctx: Context) -> None:
    data = make_csv(
        [
            row(start="2026-12-01T09:00", client_external_id="ES1", client_language="es-MX"),
            row(start="2026-12-02T09:00", client_external_id="EN1", client_email="en@example.com"),
        ]
    )
    await import_appointments(ctx, ADMIN, data, "csv")
    languages = {c.external_id: c.language for c in await clients(ctx.store)}
    assert languages == {"ES1": "es", "EN1": None}


async def test_vacation_and_event_need_no_client(ctx: Context) -> None:
    data = make_csv(
        [
            row(
                start="2026-12-01T09:00",
                kind="vacation",
                client_external_id="-",
                client_name="-",
                duration_min="480",
            ),
            row(start="2026-12-10T09:00", kind="event", client_external_id="-", client_name="-"),
        ]
    )
    report = await import_appointments(ctx, ADMIN, data, "csv")
    assert report.created == 2
    assert [a.client_ids for a in await appointments(ctx.store)] == [(), ()]


# -- conflicts --------------------------------------------------------------------------


async def test_conflict_inside_the_file_rejects_the_later_row(ctx: Context) -> None:
    data = make_csv(
        [
            row(external_id="a", start="2026-12-01T09:00"),
            row(external_id="b", start="2026-12-01T09:50"),  # touches: fine
            row(external_id="c", start="2026-12-01T09:30", clinician_email="other@example.com"),
            row(external_id="d", start="2026-12-01T09:20"),
        ]
    )
    with pytest.raises(InvalidInput) as err:
        await import_appointments(ctx, ADMIN, data, "csv")
    assert err.value.details == [
        {"row": 5, "column": "start", "reason": "conflicts with row 2 (double_booked)"},
        {"row": 5, "column": "start", "reason": "conflicts with row 3 (double_booked)"},
    ]


async def test_conflict_with_the_store_cites_the_appointment_id(ctx: Context) -> None:
    existing = Appointment(
        id="apt_old",
        clinician_ids=("stf_doc",),
        start=datetime(2026, 12, 1, 14, 30, tzinfo=UTC),
        duration_min=60,
        created_at=NOW,
        updated_at=NOW,
    )
    await seed(ctx.store, [Put(existing)])
    data = make_csv(
        [
            row(external_id="a", start="2026-12-01T09:00"),
            row(external_id="b", start="2026-12-01T11:00"),
        ]
    )
    report = await import_appointments(ctx, ADMIN, data, "csv", partial=True)
    assert [r.action for r in report.rows] == ["rejected", "create"]
    assert report.rows[0].errors[0].reason == "conflicts with apt_old (double_booked)"
    assert report.rows[0].errors[0].column == "start"


async def test_vacation_in_the_store_blocks_an_appointment(ctx: Context) -> None:
    await import_appointments(
        ctx,
        ADMIN,
        make_csv(
            [
                row(
                    external_id="v",
                    start="2026-12-01T00:00",
                    kind="vacation",
                    duration_min="1440",
                    client_external_id="-",
                    client_name="-",
                )
            ]
        ),
        "csv",
    )
    (vacation,) = await appointments(ctx.store)
    with pytest.raises(InvalidInput) as err:
        await import_appointments(ctx, ADMIN, make_csv([row(start="2026-12-01T09:00")]), "csv")
    assert err.value.details[0]["reason"] == f"conflicts with {vacation.id} (vacation)"


async def test_moving_a_stored_appointment_does_not_conflict_with_itself(ctx: Context) -> None:
    rows = [row(external_id="e1", start="2026-12-01T09:00")]
    await import_appointments(ctx, ADMIN, make_csv(rows), "csv")
    rows[0]["start"] = "2026-12-01T09:30"
    report = await import_appointments(ctx, ADMIN, make_csv(rows), "csv")
    assert report.updated == 1


async def test_cancelled_rows_do_not_conflict(ctx: Context) -> None:
    data = make_csv(
        [
            row(external_id="a", start="2026-12-01T09:00", status="cancelled"),
            row(external_id="b", start="2026-12-01T09:00"),
        ]
    )
    assert (await import_appointments(ctx, ADMIN, data, "csv")).created == 2


async def test_only_admins_and_schedulers_import(ctx: Context) -> None:
    clinician = Actor(kind="staff", id="stf_doc", role=Role.CLINICIAN)
    with pytest.raises(Forbidden):
        await import_appointments(ctx, clinician, make_csv([row(start="2026-12-01T09:00")]), "csv")


def _replace(appt: Appointment, **changes: object) -> Appointment:
    return msgspec.structs.replace(appt, **changes)


async def test_report_has_the_documented_wire_shape(ctx: Context) -> None:
    data = make_csv([row(start="2026-12-01T09:00"), row(start="2026-12-02T09:00", kind="x")])
    report = await import_appointments(ctx, ADMIN, data, "csv", partial=True, dry_run=True)
    wire = json.loads(msgspec.json.encode(report))
    assert list(wire) == [
        "dry_run",
        "created",
        "updated",
        "unchanged",
        "rejected",
        "rows",
        "clients_created",
        "clients",
        "messages",
        "warnings",
        "held_back",
    ]
    assert wire["rows"][1] == {
        "row": 3,
        "action": "rejected",
        "id": None,
        "errors": [{"row": 3, "column": "kind", "reason": wire["rows"][1]["errors"][0]["reason"]}],
    }
    # A dry run names no record it would create: a made-up id would not be the real one.
    assert wire["rows"][0]["id"] is None
