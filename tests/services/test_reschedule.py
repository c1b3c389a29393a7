"""Reschedule requests: a client asks to move a visit to an open slot; staff accept (the
visit moves, the reschedule message goes out) or decline (issue 13, item 5)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.seeding import audited
from tlh.domain.messages import Message
from tlh.domain.models import Appointment, Modality
from tlh.domain.reschedule import RequestState
from tlh.errors import NotFound
from tlh.services import reschedule, self_booking
from tlh.services.context import Context

from .conftest import ADMIN
from .test_self_booking import CLIENT, STRANGER, TUESDAY_9, booking_ctx

__all__ = ["booking_ctx"]  # the fixture, shared
LATER = TUESDAY_9 + timedelta(minutes=100)  # 10:40, the third slot


async def _booked(ctx: Context) -> Appointment:
    made = await self_booking.book_slot(
        ctx, CLIENT, "cli_1", "stf_doc", TUESDAY_9, Modality.TELEHEALTH
    )
    return made.items[0]


async def test_a_request_accepted_moves_the_visit_and_tells_the_client(
    booking_ctx: Context,
) -> None:
    appt = await _booked(booking_ctx)
    asked = await reschedule.request_reschedule(booking_ctx, CLIENT, appt.id, LATER)
    assert asked.state is RequestState.PENDING
    assert ("cli_1", "reschedule.request", asked.id) in await audited(booking_ctx)
    assert [r.id for r in await reschedule.list_requests(booking_ctx, ADMIN)] == [asked.id]

    done = await reschedule.accept(booking_ctx, ADMIN, asked.id)
    assert done.state is RequestState.ACCEPTED
    moved = await booking_ctx.store.get(Appointment, appt.id)
    assert moved is not None
    assert moved.start == LATER
    kinds = [m.kind for m in await booking_ctx.store.all(Message) if m.appointment_id == appt.id]
    assert any("reschedule" in str(k) for k in kinds), kinds
    assert ("stf_admin", "reschedule.accept", asked.id) in await audited(booking_ctx)
    assert await reschedule.list_requests(booking_ctx, ADMIN) == []
    with pytest.raises(reschedule.NotPending):
        await reschedule.decline(booking_ctx, ADMIN, asked.id)


async def test_a_declined_request_leaves_the_visit(booking_ctx: Context) -> None:
    appt = await _booked(booking_ctx)
    asked = await reschedule.request_reschedule(booking_ctx, CLIENT, appt.id, LATER)
    with pytest.raises(reschedule.NotPending):  # one waiting at a time
        await reschedule.request_reschedule(booking_ctx, CLIENT, appt.id, LATER)
    done = await reschedule.decline(booking_ctx, ADMIN, asked.id)
    assert done.state is RequestState.DECLINED
    kept = await booking_ctx.store.get(Appointment, appt.id)
    assert kept is not None
    assert kept.start == TUESDAY_9
    assert ("stf_admin", "reschedule.decline", asked.id) in await audited(booking_ctx)


async def test_a_slot_taken_before_staff_accept_is_gone(booking_ctx: Context) -> None:
    appt = await _booked(booking_ctx)
    asked = await reschedule.request_reschedule(booking_ctx, CLIENT, appt.id, LATER)
    await self_booking.book_slot(
        booking_ctx, STRANGER, "cli_2", "stf_doc", LATER, Modality.TELEHEALTH
    )
    with pytest.raises(self_booking.SlotGone):
        await reschedule.accept(booking_ctx, ADMIN, asked.id)
    kept = await booking_ctx.store.get(Appointment, appt.id)
    assert kept is not None
    assert kept.start == TUESDAY_9
    assert [r.state for r in await reschedule.list_requests(booking_ctx, ADMIN)] == [
        RequestState.PENDING
    ]


async def test_someone_else_s_visit_is_unknown_and_refusals_keep_their_codes(
    booking_ctx: Context,
) -> None:
    appt = await _booked(booking_ctx)
    with pytest.raises(NotFound):
        await reschedule.request_reschedule(booking_ctx, STRANGER, appt.id, LATER)
    with pytest.raises(self_booking.NotOpen):
        await reschedule.request_reschedule(
            booking_ctx, CLIENT, appt.id, LATER + timedelta(hours=3)
        )
    with pytest.raises(self_booking.TooFar):
        await reschedule.request_reschedule(
            booking_ctx, CLIENT, appt.id, LATER + timedelta(days=400)
        )
