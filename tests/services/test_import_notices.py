"""What an import sends, says and holds back: the same rules as booking and changing one
appointment (issue 18, item 7; issue 20, items 4 and 10)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import msgspec
import pytest

from tests.seeding import audited, seed
from tlh.domain.links import JoinLink
from tlh.domain.messages import Message, MessageKind, MessageStatus
from tlh.domain.models import Appointment, AvailabilityBlock, AvailabilityMode, Policy, Staff
from tlh.errors import InvalidInput
from tlh.services.context import Context
from tlh.services.importing import import_appointments
from tlh.services.invites import reminder_renderer
from tlh.services.reminder_clock import ReminderClock
from tlh.store.base import POLICY_ID, Put

from .conftest import ADMIN, NOW, make_csv, row

#: Tomorrow 06:30 in New York, 23.5 hours after NOW: its day-before reminder is due.
TOMORROW = "2026-11-23T06:30"
LATER = "2026-12-01T09:00"


@pytest.fixture(autouse=True)
async def telehealth_on(ctx: Context) -> None:
    """Dr Doc sees clients by video (the seeded practice has telehealth off for staff)."""
    doc = await ctx.store.get(Staff, "stf_doc")
    assert doc is not None
    await seed(ctx.store, [Put(msgspec.structs.replace(doc, telehealth=True))])


async def set_policy(ctx: Context, **changes: object) -> None:
    policy = await ctx.store.get(Policy, POLICY_ID)
    assert policy is not None
    await seed(ctx.store, [Put(msgspec.structs.replace(policy, **changes))])


def video(start: str, external_id: str = "e1", **cells: str) -> dict[str, str]:
    """A confirmed telehealth row of Ada's (``cells`` change any of it)."""
    base = {"modality": "telehealth", "status": "confirmed", "client_email": "ada@example.com"}
    return row(**{**base, "external_id": external_id, "start": start, **cells})


async def messages(ctx: Context) -> list[Message]:
    found = list(await ctx.store.all(Message))
    return sorted(found, key=lambda m: (m.created_at, m.kind))


async def links(ctx: Context, appt_id: str) -> list[JoinLink]:
    return list(await ctx.store.find(JoinLink, "appointment_id", appt_id))


async def stored(ctx: Context, appt_id: str) -> Appointment:
    found = await ctx.store.get(Appointment, appt_id)
    assert found is not None
    return found


async def test_a_dry_run_lists_the_clients_and_messages_the_real_run_makes(
    ctx: Context,
) -> None:
    data = make_csv(
        [
            video(LATER),
            row(external_id="e2", start=LATER, client_external_id="C2",
                client_name="Bo Brown", clinician_email="other@example.com"),
            video("2026-12-02T09:00", "e3", client_external_id="C3", client_name="Cy Gray",
                  client_email="cy@example.com"),
        ]
    )  # fmt: skip
    dry = await import_appointments(ctx, ADMIN, data, "csv", dry_run=True)
    assert (dry.created, dry.clients_created) == (3, 3)
    assert [(c.row, c.name, c.id) for c in dry.clients] == [
        (2, "Ada Lovelace", None),
        (3, "Bo Brown", None),
        (4, "Cy Gray", None),
    ]
    # Invitations for the telehealth visits; the in-person one sends nothing.
    assert [(m.kind, m.row, m.appointment_id, m.client_id) for m in dry.messages] == [
        (MessageKind.INVITATION, 2, None, None),
        (MessageKind.INVITATION, 4, None, None),
    ]
    assert all(r.id is None for r in dry.rows)  # no made-up ids
    assert await messages(ctx) == []
    assert await ctx.store.all(Appointment) == []

    real = await import_appointments(ctx, ADMIN, data, "csv")
    assert (real.created, real.clients_created) == (3, 3)
    assert [(c.row, c.name) for c in real.clients] == [(c.row, c.name) for c in dry.clients]
    assert [(m.kind, m.row) for m in real.messages] == [(m.kind, m.row) for m in dry.messages]
    ids = {r.row: r.id for r in real.rows}
    assert [m.appointment_id for m in real.messages] == [ids[2], ids[4]]
    assert all(c.id for c in real.clients)
    sent = await messages(ctx)
    assert sorted(m.to for m in sent) == ["ada@example.com", "cy@example.com"]
    assert all(m.kind is MessageKind.INVITATION and m.link_id for m in sent)
    # The appointments, clients, links and messages are one write, audited in it.
    actions = {action for _, action, _ in await audited(ctx)}
    assert {"appointment.import", "client.create", "link.create", "message.queue"} <= actions


async def test_reminders_already_due_are_listed_and_an_invitation_stands_in_for_the_first(
    ctx: Context,
) -> None:
    data = make_csv([video(TOMORROW)])
    invited = await import_appointments(ctx, ADMIN, data, "csv", dry_run=True)
    assert [m.kind for m in invited.messages] == [MessageKind.INVITATION]

    await set_policy(ctx, invite_on_create=False)
    dry = await import_appointments(ctx, ADMIN, data, "csv", dry_run=True)
    assert [(m.kind, m.channel.value) for m in dry.messages] == [
        (MessageKind.REMINDER_24H, "email")
    ]
    real = await import_appointments(ctx, ADMIN, data, "csv")
    assert [m.kind for m in real.messages] == [MessageKind.REMINDER_24H]
    clock = ReminderClock(ctx, reminder_renderer(ctx))
    assert [m.kind for m in await clock.tick(NOW)] == [MessageKind.REMINDER_24H]


async def test_no_notify_sends_nothing_and_holds_back_reminders_already_due(
    ctx: Context,
) -> None:
    """Issue 20, item 10: importing a season sent reminder_24h emails at once."""
    data = make_csv([video(TOMORROW), video(LATER, "e2")])
    dry = await import_appointments(ctx, ADMIN, data, "csv", dry_run=True, notify=False)
    assert (dry.messages, dry.held_back) == ((), 1)
    report = await import_appointments(ctx, ADMIN, data, "csv", notify=False)
    assert (report.created, report.messages, report.held_back) == (2, (), 1)
    [held] = await messages(ctx)
    assert (held.status, held.kind, held.to, held.text) == (
        MessageStatus.SKIPPED,
        MessageKind.REMINDER_24H,
        "",
        "",
    )
    clock = ReminderClock(ctx, reminder_renderer(ctx))
    assert await clock.tick(NOW) == []
    assert await clock.tick(NOW + timedelta(hours=1)) == []
    assert [m.status for m in await messages(ctx)] == [MessageStatus.SKIPPED]
    assert "message.skip" in {action for _, action, _ in await audited(ctx)}


async def test_a_reimport_that_moves_an_invited_visit_sends_its_new_link(ctx: Context) -> None:
    """Issue 20, item 4: 'updated 5' and no client told."""
    await import_appointments(ctx, ADMIN, make_csv([video(LATER)]), "csv")
    [appt] = await ctx.store.all(Appointment)
    [first] = await links(ctx, appt.id)
    moved = make_csv([video("2026-12-01T11:00")])
    dry = await import_appointments(ctx, ADMIN, moved, "csv", dry_run=True)
    assert [(m.kind, m.appointment_id) for m in dry.messages] == [
        (MessageKind.RESCHEDULE, appt.id)  # an existing record keeps its id in a dry run
    ]
    report = await import_appointments(ctx, ADMIN, moved, "csv")
    assert report.updated == 1
    assert [(m.kind, m.row) for m in report.messages] == [(MessageKind.RESCHEDULE, 2)]
    assert next(k for k in await links(ctx, appt.id) if k.id == first.id).revoked_at is not None
    told = (await messages(ctx))[-1]
    assert (told.kind, told.to) == (MessageKind.RESCHEDULE, "ada@example.com")
    new = next(k for k in await links(ctx, appt.id) if k.id == told.link_id)
    assert new.revoked_at is None
    assert new.valid_from == datetime(2026, 12, 1, 15, 50, tzinfo=UTC)  # 11:00 EST - 10 min


async def test_a_corrected_reimport_keeps_the_link_and_moves_its_window(ctx: Context) -> None:
    await import_appointments(ctx, ADMIN, make_csv([video(LATER)]), "csv")
    [appt] = await ctx.store.all(Appointment)
    [link] = await links(ctx, appt.id)
    report = await import_appointments(
        ctx, ADMIN, make_csv([video("2026-12-01T11:00")]), "csv", notify=False
    )
    assert (report.updated, report.messages) == (1, ())
    [kept] = await links(ctx, appt.id)
    assert kept.revoked_at is None
    assert kept.valid_from - link.valid_from == timedelta(hours=2)
    assert [m.kind for m in await messages(ctx)] == [MessageKind.INVITATION]
    assert "link.update" in {action for _, action, _ in await audited(ctx)}


async def test_a_reimport_that_cancels_or_turns_a_visit_in_person_tells_its_client(
    ctx: Context,
) -> None:
    await import_appointments(
        ctx, ADMIN, make_csv([video(LATER), video("2026-12-02T09:00", "e2")]), "csv"
    )
    changed = make_csv(
        [video(LATER, status="cancelled"), video("2026-12-02T09:00", "e2", modality="in_person")]
    )
    report = await import_appointments(ctx, ADMIN, changed, "csv")
    assert sorted(m.kind for m in report.messages) == [
        MessageKind.CANCELLATION,
        MessageKind.IN_PERSON,
    ]
    revoked = [
        k.revoked_at for a in await ctx.store.all(Appointment) for k in await links(ctx, a.id)
    ]
    assert all(revoked)


async def test_availability_is_warned_of_per_row_and_strict_rejects_the_row(
    ctx: Context,
) -> None:
    block = AvailabilityBlock(
        id="avl_1", clinician_id="stf_doc", weekday=1, start_local="09:00", end_local="12:00",
        mode=AvailabilityMode.TELEHEALTH_ONLY,
    )  # fmt: skip
    await seed(ctx.store, [Put(block)])
    data = make_csv(
        [
            row(external_id="e1", start="2026-12-01T09:00"),  # a Tuesday: video only
            video("2026-12-01T10:00", "e2"),
        ]
    )
    report = await import_appointments(ctx, ADMIN, data, "csv", dry_run=True, notify=False)
    assert [(w.row, w.code) for w in report.warnings] == [(2, "availability_mode")]
    with pytest.raises(InvalidInput) as refused:
        await import_appointments(ctx, ADMIN, data, "csv", strict_availability=True)
    assert refused.value.details == [
        {
            "row": 2,
            "column": "start",
            "reason": "stf_doc sees clients only by video at 2026-12-01 09:00; this visit is in person",
        }
    ]
    partial = await import_appointments(
        ctx, ADMIN, data, "csv", strict_availability=True, partial=True, notify=False
    )
    assert (partial.created, partial.rejected) == (1, 1)
