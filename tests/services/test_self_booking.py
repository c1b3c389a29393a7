"""``book_slot``: a client books an open slot of their clinician, and every refusal has
its own code (issue 13, item 5)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import msgspec
import pytest

from tests.seeding import audited, seed
from tlh.domain.models import (
    AvailabilityBlock,
    AvailabilityMode,
    Client,
    Contact,
    Modality,
    Policy,
    SelfScheduling,
    Staff,
    Status,
)
from tlh.errors import NotFound, TlhError
from tlh.services import self_booking
from tlh.services.context import Actor, Context
from tlh.store.base import Put

from .conftest import ADMIN, NOW, TZ, RecordingEvents

NY = ZoneInfo(TZ)
CLIENT = Actor(kind="client_link", id="cli_1")
CAREGIVER = Actor(kind="client_link", id="con_1")
STRANGER = Actor(kind="client_link", id="cli_2")
#: Tuesday 2026-11-24, 09:00 in New York: two days after NOW.
TUESDAY_9 = datetime(2026, 11, 24, 9, 0, tzinfo=NY).astimezone(UTC)


def policy(**fields: object) -> Policy:
    base = Policy(
        practice_name="Test practice", timezone=TZ, self_scheduling=SelfScheduling.CLIENTS
    )
    return msgspec.structs.replace(base, **fields)


@pytest.fixture
async def booking_ctx(ctx: Context) -> Context:
    blocks = [
        AvailabilityBlock(
            id=f"avl_{day}",
            clinician_id="stf_doc",
            weekday=day,
            start_local="09:00",
            end_local="12:00",
            mode=AvailabilityMode.TELEHEALTH_ONLY,
        )
        for day in range(7)
    ]
    clients = [
        Client(
            id="cli_1", name="Ada Client", email="ada@example.com", clinician_ids=("stf_doc",),
            contacts=(Contact(id="con_1", name="Carer", email="carer@example.com"),),
            created_at=NOW, updated_at=NOW,
        ),
        Client(
            id="cli_2", name="Bo Client", email="bo@example.com", clinician_ids=("stf_doc",),
            created_at=NOW, updated_at=NOW,
        ),
    ]  # fmt: skip
    doc = await ctx.store.get(Staff, "stf_doc")
    assert doc is not None
    await seed(
        ctx.store,
        [Put(policy()), Put(msgspec.structs.replace(doc, telehealth=True)), *(Put(b) for b in blocks),
         *(Put(c) for c in clients)],
    )  # fmt: skip
    return ctx


async def test_a_client_books_an_open_slot_and_is_invited(booking_ctx: Context) -> None:
    made = await self_booking.book_slot(
        booking_ctx, CLIENT, "cli_1", "stf_doc", TUESDAY_9, Modality.TELEHEALTH
    )
    [appt] = made.items
    assert (appt.start, appt.duration_min, appt.status) == (TUESDAY_9, 50, Status.SCHEDULED)
    assert appt.client_ids == ("cli_1",)
    assert appt.modality is Modality.TELEHEALTH
    assert [m.kind for m in made.messages if m.client_id == "cli_1"] == ["invitation"]
    assert ("cli_1", "appointment.create", appt.id) in await audited(booking_ctx)
    events = booking_ctx.events
    assert isinstance(events, RecordingEvents)
    told = [(t, d["id"]) for t, d in events.published if t.startswith("appointment.")]
    assert told == [("appointment.created", appt.id), ("appointment.self_booked", appt.id)]
    audience, _ = events.sent_to[-1]
    assert "stf_doc" in audience.staff
    assert {r.value for r in audience.roles} >= {"admin"}


async def test_a_caregiver_books_for_their_client_and_confirms_per_policy(
    booking_ctx: Context,
) -> None:
    await seed(booking_ctx.store, [Put(policy(booking_confirms=True))])
    made = await self_booking.book_slot(
        booking_ctx, CAREGIVER, "cli_1", "stf_doc", TUESDAY_9, Modality.TELEHEALTH
    )
    assert made.items[0].status is Status.CONFIRMED
    assert ("con_1", "appointment.create", made.items[0].id) in await audited(booking_ctx)


async def test_someone_else_s_client_is_unknown(booking_ctx: Context) -> None:
    with pytest.raises(NotFound):
        await self_booking.book_slot(
            booking_ctx, STRANGER, "cli_1", "stf_doc", TUESDAY_9, Modality.TELEHEALTH
        )
    with pytest.raises(NotFound):  # not their clinician
        await self_booking.book_slot(
            booking_ctx, CLIENT, "cli_1", "stf_other", TUESDAY_9, Modality.TELEHEALTH
        )


@pytest.mark.parametrize(
    ("start", "modality", "fields", "code", "status"),
    [
        (TUESDAY_9, Modality.TELEHEALTH, {"self_scheduling": SelfScheduling.OFF}, "self_scheduling_off", 403),
        (NOW - timedelta(hours=1), Modality.TELEHEALTH, {}, "in_the_past", 422),
        (TUESDAY_9, Modality.TELEHEALTH, {"booking_min_notice_h": 72}, "too_soon", 422),
        (TUESDAY_9, Modality.TELEHEALTH, {"booking_max_days": 1}, "too_far", 422),
        (TUESDAY_9 + timedelta(hours=4), Modality.TELEHEALTH, {}, "not_open", 422),
        (TUESDAY_9 + timedelta(minutes=10), Modality.TELEHEALTH, {}, "not_open", 422),
        (TUESDAY_9, Modality.IN_PERSON, {}, "wrong_mode", 422),
    ],
)  # fmt: skip
async def test_refusals_have_their_own_codes(
    booking_ctx: Context,
    start: datetime,
    modality: Modality,
    fields: dict[str, object],
    code: str,
    status: int,
) -> None:
    await seed(booking_ctx.store, [Put(policy(**fields))])
    with pytest.raises(TlhError) as raised:
        await self_booking.book_slot(booking_ctx, CLIENT, "cli_1", "stf_doc", start, modality)
    assert (raised.value.code, raised.value.status) == (code, status)
    assert await booking_ctx.store.appointments_between(NOW, NOW + timedelta(days=90)) == []


async def test_a_taken_slot_is_gone(booking_ctx: Context) -> None:
    await self_booking.book_slot(
        booking_ctx, STRANGER, "cli_2", "stf_doc", TUESDAY_9, Modality.TELEHEALTH
    )
    with pytest.raises(self_booking.SlotGone) as raised:
        await self_booking.book_slot(
            booking_ctx, CLIENT, "cli_1", "stf_doc", TUESDAY_9, Modality.TELEHEALTH
        )
    assert raised.value.status == 409
    assert "Ada" not in str(raised.value)
    assert "Bo" not in str(raised.value)


async def test_staff_who_book_use_the_same_rules(booking_ctx: Context) -> None:
    made = await self_booking.book_slot(
        booking_ctx, ADMIN, "cli_2", "stf_doc", TUESDAY_9, Modality.TELEHEALTH
    )
    assert made.items[0].client_ids == ("cli_2",)
