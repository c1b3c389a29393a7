"""A client (or their caregiver) confirms or cancels an appointment themselves, directly or
through a one-tap link of the reminder (issue 13, item 4): the status the start gate
needs, a late cancellation inside ``late_cancel_hours``, the usual cancellation message,
and a clear refusal (409/410) that changes nothing when it cannot be done now."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from tests.seeding import audited, seed
from tlh.domain.action_links import ActionLink, LinkAction
from tlh.domain.links import Channel, JoinLink, LinkPurpose, ParticipantKind
from tlh.domain.messages import Message, MessageKind
from tlh.domain.models import Appointment, Client, Contact, Modality, Reminder, Status
from tlh.errors import Forbidden, NotFound, TlhError
from tlh.services import client_actions, reports
from tlh.services.client_actions import ActionRefused, LinkExpired, person_actor
from tlh.services.context import Context
from tlh.store.base import Put

from .conftest import ADMIN, NOW

CARER = Contact(
    id="con_carer", name="Carer", email="carer@example.com", reminders=(Reminder.EMAIL,)
)
ANA = Client(
    id="cli_ana",
    name="Ana",
    email="ana@example.com",
    contacts=(CARER,),
    created_at=NOW,
    updated_at=NOW,
)
BO = Client(id="cli_bo", name="Bo", email="bo@example.com", created_at=NOW, updated_at=NOW)


def _appt(id: str, hours: float, client: str = "cli_ana", **kw: object) -> Appointment:
    start = NOW + timedelta(hours=hours)
    fields: dict[str, object] = {
        "id": id,
        "modality": Modality.TELEHEALTH,
        "clinician_ids": ("stf_doc",),
        "client_ids": (client,),
        "start": start,
        "duration_min": 50,
        "created_at": NOW,
        "updated_at": NOW,
    }
    fields.update(kw)
    return Appointment(**fields)  # type: ignore[arg-type]


def _join(appt: Appointment) -> JoinLink:
    """The join link the client had by email (a cancellation tells its holder)."""
    return JoinLink(
        id=f"lnk_{appt.id}",
        token_hash="f" * 64,
        purpose=LinkPurpose.JOIN,
        participant=ParticipantKind.CLIENT,
        client_id=appt.client_ids[0],
        appointment_id=appt.id,
        clinician_id="stf_doc",
        channel=Channel.EMAIL,
        created_at=NOW,
        created_by="system",
        valid_from=appt.start - timedelta(minutes=10),
        valid_until=appt.end + timedelta(minutes=30),
    )


def _action(appt: Appointment, action: LinkAction, **kw: object) -> ActionLink:
    fields: dict[str, object] = {
        "id": f"act_{action.value}_{appt.id}",
        "token_hash": ("c" if action is LinkAction.CONFIRM else "d") * 64,
        "action": action,
        "appointment_id": appt.id,
        "client_id": appt.client_ids[0],
        "created_at": NOW,
        "valid_until": appt.start,
    }
    fields.update(kw)
    return ActionLink(**fields)  # type: ignore[arg-type]


ANA_ACTS = person_actor("cli_ana", None, "203.0.113.9")
CARER_ACTS = person_actor("cli_ana", "con_carer")


async def _seed(ctx: Context, *appts: Appointment) -> None:
    ops: list[Put] = [Put(ANA), Put(BO)]
    for appt in appts:
        ops += [Put(appt), Put(_join(appt))]
        ops += [Put(_action(appt, a)) for a in LinkAction]
    await seed(ctx.store, ops)


async def _status(ctx: Context, appt_id: str) -> Status:
    found = await ctx.store.get(Appointment, appt_id)
    assert found is not None
    return found.status


async def _messages(ctx: Context, appt_id: str) -> list[Message]:
    return list(await ctx.store.find(Message, "appointment_id", appt_id))


async def test_confirm_sets_the_status_the_start_gate_needs_audited_as_the_client(
    ctx: Context,
) -> None:
    await _seed(ctx, _appt("apt_1", 48))
    updated = await client_actions.confirm(ctx, ANA_ACTS, "apt_1")
    assert updated.status is Status.CONFIRMED
    assert Status.CONFIRMED in ctx.policy().start_statuses
    assert await _status(ctx, "apt_1") is Status.CONFIRMED
    assert ("cli_ana", "appointment.status.confirmed", "apt_1") in await audited(ctx)
    [entry] = [
        e for e in await ctx.store.audit.read() if e["action"] == "appointment.status.confirmed"
    ]
    assert entry["actor"]["kind"] == "client"
    assert entry["source"] == "203.0.113.9"
    events = ctx.events.published  # type: ignore[attr-defined]
    assert events[-1][0] == "appointment.confirmed"
    data = events[-1][1]
    assert (data["id"], data["status"], data["by"], data["client_id"]) == (
        "apt_1",
        "confirmed",
        "client",
        "cli_ana",
    )
    audience, _ = ctx.events.sent_to[-1]  # type: ignore[attr-defined]
    assert "stf_doc" in audience.staff  # the appointment's clinician, with admins
    assert "admin" in {r.value for r in audience.roles}


async def test_a_cancel_well_ahead_is_cancelled_and_the_usual_message_goes(ctx: Context) -> None:
    await _seed(ctx, _appt("apt_1", 48))
    updated = await client_actions.client_cancel(ctx, ANA_ACTS, "apt_1")
    assert updated.status is Status.CANCELLED
    [told] = await _messages(ctx, "apt_1")
    assert (told.kind, told.to) == (MessageKind.CANCELLATION, "ana@example.com")
    link = await ctx.store.get(JoinLink, "lnk_apt_1")
    assert link is not None
    assert link.revoked_at == NOW  # the join link no longer admits anyone
    data = ctx.events.published[-1]  # type: ignore[attr-defined]
    assert data[0] == "appointment.cancelled"
    assert data[1]["late"] is False


async def test_a_cancel_inside_late_cancel_hours_is_recorded_as_late(ctx: Context) -> None:
    await _seed(ctx, _appt("apt_1", 20))
    assert ctx.policy().late_cancel_hours == 24
    updated = await client_actions.client_cancel(ctx, ANA_ACTS, "apt_1")
    assert updated.status is Status.LATE_CANCELLED
    assert ("cli_ana", "appointment.status.late_cancelled", "apt_1") in await audited(ctx)
    assert ctx.events.published[-1][1]["late"] is True  # type: ignore[attr-defined]
    day = (NOW + timedelta(hours=20)).date().isoformat()
    rows = await reports.attendance_report(ctx, ADMIN, from_=day, to=day)
    assert [(r.appointment_id, r.outcome.value) for r in rows] == [("apt_1", "late_cancelled")]


@pytest.mark.parametrize(
    ("status", "hours", "act", "reason"),
    [
        (Status.CANCELLED, 48, client_actions.confirm, "cancelled"),
        (Status.LATE_CANCELLED, 48, client_actions.client_cancel, "cancelled"),
        (Status.CONFIRMED, 48, client_actions.confirm, "confirmed"),
        (Status.SCHEDULED, -0.5, client_actions.confirm, "started"),
        (Status.CONFIRMED, -0.5, client_actions.client_cancel, "started"),
        (Status.CHECKED_IN, 0.1, client_actions.client_cancel, "closed"),
    ],
)
async def test_what_cannot_be_done_now_is_a_409_and_changes_nothing(
    ctx: Context, status: Status, hours: float, act: object, reason: str
) -> None:
    await _seed(ctx, _appt("apt_1", hours, status=status))
    before = await audited(ctx)
    with pytest.raises(ActionRefused) as refused:
        await act(ctx, ANA_ACTS, "apt_1")  # type: ignore[operator]
    assert refused.value.status == 409
    assert refused.value.details == {"reason": reason}
    assert await _status(ctx, "apt_1") is status
    assert await audited(ctx) == before
    assert await _messages(ctx, "apt_1") == []
    assert ctx.events.published == []  # type: ignore[attr-defined]


async def test_cancelling_twice_sends_one_message(ctx: Context) -> None:
    await _seed(ctx, _appt("apt_1", 48))
    await client_actions.client_cancel(ctx, ANA_ACTS, "apt_1")
    with pytest.raises(ActionRefused):
        await client_actions.client_cancel(ctx, ANA_ACTS, "apt_1")
    assert len(await _messages(ctx, "apt_1")) == 1


async def test_a_caregiver_acts_for_their_client_only(ctx: Context) -> None:
    await _seed(ctx, _appt("apt_1", 48), _appt("apt_bo", 48, client="cli_bo"))
    await client_actions.confirm(ctx, CARER_ACTS, "apt_1")
    assert ("con_carer", "appointment.status.confirmed", "apt_1") in await audited(ctx)
    assert ctx.events.published[-1][1]["by"] == "contact"  # type: ignore[attr-defined]
    with pytest.raises(NotFound):  # not theirs: as unknown as a missing one
        await client_actions.confirm(ctx, CARER_ACTS, "apt_bo")
    with pytest.raises(NotFound):
        await client_actions.client_cancel(ctx, ANA_ACTS, "apt_bo")
    with pytest.raises(Forbidden):  # staff use the staff routes
        await client_actions.confirm(ctx, ADMIN, "apt_bo")
    assert await _status(ctx, "apt_bo") is Status.SCHEDULED


async def _link(ctx: Context, appt_id: str, action: LinkAction) -> ActionLink:
    found = await ctx.store.get(ActionLink, f"act_{action.value}_{appt_id}")
    assert found is not None
    return found


async def test_a_link_acts_once_and_a_replay_changes_nothing(ctx: Context) -> None:
    await _seed(ctx, _appt("apt_1", 48))
    done = await client_actions.use(ctx, await _link(ctx, "apt_1", LinkAction.CONFIRM), "")
    assert (done.status, done.late) == (Status.CONFIRMED, False)
    used = await _link(ctx, "apt_1", LinkAction.CONFIRM)
    assert used.used_at == NOW
    assert ("cli_ana", "action_link.use", used.id) in await audited(ctx)
    before = await audited(ctx)
    with pytest.raises(ActionRefused) as refused:
        await client_actions.use(ctx, used, "")
    assert refused.value.details == {"reason": "used"}
    assert await audited(ctx) == before
    view = await client_actions.look(ctx, used, "")
    assert (view.ready, view.reason) == (False, "used")


async def test_a_confirm_link_after_cancellation_is_refused(ctx: Context) -> None:
    await _seed(ctx, _appt("apt_1", 48))
    await client_actions.use(ctx, await _link(ctx, "apt_1", LinkAction.CANCEL), "")
    view = await client_actions.look(ctx, await _link(ctx, "apt_1", LinkAction.CONFIRM), "")
    assert (view.ready, view.reason, view.date) == (False, "cancelled", None)
    with pytest.raises(ActionRefused) as refused:
        await client_actions.use(ctx, await _link(ctx, "apt_1", LinkAction.CONFIRM), "")
    assert refused.value.details == {"reason": "cancelled"}
    assert await _status(ctx, "apt_1") is Status.CANCELLED
    assert (await _link(ctx, "apt_1", LinkAction.CONFIRM)).used_at is None


async def test_a_link_past_its_start_or_for_a_moved_visit_is_gone(ctx: Context) -> None:
    await _seed(ctx, _appt("apt_1", 48))
    link = await _link(ctx, "apt_1", LinkAction.CANCEL)
    late = replace(ctx, clock=lambda: NOW + timedelta(hours=48, minutes=1))
    with pytest.raises(LinkExpired) as gone:
        await client_actions.use(late, link, "")
    assert (gone.value.status, gone.value.details) == (410, {"reason": "started"})
    await seed(ctx.store, [Put(_appt("apt_1", 72))])  # moved by staff
    with pytest.raises(LinkExpired) as gone:
        await client_actions.use(ctx, link, "")
    assert gone.value.details == {"reason": "moved"}
    assert await _status(ctx, "apt_1") is Status.SCHEDULED
    assert (await _link(ctx, "apt_1", LinkAction.CANCEL)).used_at is None


async def test_looking_changes_nothing(ctx: Context) -> None:
    await _seed(ctx, _appt("apt_1", 20))
    view = await client_actions.look(ctx, await _link(ctx, "apt_1", LinkAction.CANCEL), "")
    assert (view.ready, view.action, view.late, view.clinician_name) == (
        True,
        LinkAction.CANCEL,
        True,
        "stf_doc",
    )
    assert view.date
    assert view.time
    assert await _status(ctx, "apt_1") is Status.SCHEDULED
    assert [a for _, a, _ in await audited(ctx)] == ["action_link.view"]


def test_refusals_are_tlh_errors() -> None:
    assert issubclass(ActionRefused, TlhError)
    assert issubclass(LinkExpired, TlhError)
