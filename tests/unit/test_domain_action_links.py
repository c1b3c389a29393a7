"""What a one-tap confirm/cancel link does at a moment, as the domain rules it (issue 13)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import msgspec
import pytest

from tlh.domain.action_links import (
    PLACEHOLDERS,
    ActionLink,
    LinkAction,
    Refusal,
    action_url,
    fill_action_tokens,
    refusal,
)
from tlh.domain.messages import Message, MessageChannel, MessageKind
from tlh.domain.models import Appointment, Status

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
START = NOW + timedelta(hours=30)
APPT = Appointment(
    id="apt_1", clinician_ids=("stf_1",), client_ids=("cli_1",), start=START,
    duration_min=50, created_at=NOW, updated_at=NOW,
)  # fmt: skip


def _link(action: LinkAction, **kw: object) -> ActionLink:
    return ActionLink(
        id="act_1", token_hash="a" * 64, action=action, appointment_id="apt_1",
        client_id="cli_1", created_at=NOW, valid_until=START, **kw,  # type: ignore[arg-type]
    )  # fmt: skip


@pytest.mark.parametrize(
    ("action", "status", "at", "start", "used", "why"),
    [
        (LinkAction.CONFIRM, Status.SCHEDULED, NOW, START, False, None),
        (LinkAction.CANCEL, Status.CONFIRMED, NOW, START, False, None),
        (LinkAction.CONFIRM, Status.CONFIRMED, NOW, START, False, Refusal.CONFIRMED),
        (LinkAction.CONFIRM, Status.SCHEDULED, NOW, START, True, Refusal.USED),
        (LinkAction.CONFIRM, Status.CANCELLED, NOW, START, False, Refusal.CANCELLED),
        (LinkAction.CANCEL, Status.LATE_CANCELLED, NOW, START, False, Refusal.CANCELLED),
        (LinkAction.CANCEL, Status.SCHEDULED, START, START, False, Refusal.STARTED),
        (LinkAction.CANCEL, Status.CHECKED_IN, NOW, START, False, Refusal.CLOSED),
        (LinkAction.CONFIRM, Status.SCHEDULED, NOW, START + timedelta(days=1), False, Refusal.MOVED),
        # Moved earlier and already begun: past its time either way.
        (LinkAction.CONFIRM, Status.SCHEDULED, NOW, NOW - timedelta(minutes=5), False, Refusal.STARTED),
    ],
)  # fmt: skip
def test_refusal(
    action: LinkAction,
    status: Status,
    at: datetime,
    start: datetime,
    used: bool,
    why: Refusal | None,
) -> None:
    appt = msgspec.structs.replace(APPT, status=status, start=start)
    link = _link(action, used_at=NOW if used else None)
    assert refusal(link, appt, at) is why


def test_a_link_for_a_missing_appointment_says_cancelled() -> None:
    assert refusal(_link(LinkAction.CONFIRM), None, NOW) is Refusal.CANCELLED


def test_tokens_are_filled_in_only_as_the_message_leaves() -> None:
    assert all(len(p) == 43 for p in PLACEHOLDERS.values())  # as long as a token
    confirm = action_url("https://tele.example.org/", PLACEHOLDERS[LinkAction.CONFIRM])
    assert confirm == f"https://tele.example.org/a#{PLACEHOLDERS[LinkAction.CONFIRM]}"
    message = Message(
        id="msg_1", idempotency_key="k", kind=MessageKind.REMINDER_24H,
        channel=MessageChannel.EMAIL, to="a@example.org", text=f"Confirm: {confirm}",
        html=f"<a href='{confirm}'>", next_attempt_at=NOW, created_at=NOW,
    )  # fmt: skip
    sent = fill_action_tokens(message, {LinkAction.CONFIRM: "T" * 43})
    assert sent.text == f"Confirm: https://tele.example.org/a#{'T' * 43}"
    assert sent.html == f"<a href='https://tele.example.org/a#{'T' * 43}'>"
