"""Invitations, the day's batch, missing addresses, and what rescheduling/cancelling do."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import time_machine

from tlh.domain.messages import TOKEN_PLACEHOLDER
from tlh.errors import InvalidInput
from tlh.server.keys import REMINDER_CLOCK

from .conftest import Practice
from .outreach_helpers import (
    add_appointment,
    add_client,
    delivered,
    delivered_ics,
    delivered_token,
    redeem,
    token_in,
)

DAY = datetime(2031, 4, 15, 14, 0, tzinfo=UTC)


async def test_invite_by_email_carries_a_link_and_an_ics(practice: Practice) -> None:
    client_id = await add_client(practice)
    status, _ = await practice.call(
        "POST",
        f"/api/v1/clients/{client_id}/contacts",
        json={"name": "Carer", "email": "carer@example.org", "reminders": ["email"]},
    )
    appt = await add_appointment(practice, client_id, start=DAY)
    status, sent = await practice.call(
        "POST", "/api/v1/invites", json={"appointment_id": appt["id"], "channel": "email"}
    )
    assert status == 201, sent
    assert len(sent["links"]) == 2  # the client and the contact who asked for email
    assert {m["to"] for m in sent["messages"]} == {"ana@example.org", "carer@example.org"}
    message = sent["messages"][0]
    assert message["idempotency_key"] == f"invite:{message['link_id']}:email"
    assert "BEGIN:VCALENDAR" in message["ics"]
    assert "METHOD:REQUEST" in message["ics"]
    # Stored and answered with a placeholder: the token is made when the email leaves.
    assert TOKEN_PLACEHOLDER in message["text"]
    assert TOKEN_PLACEHOLDER in message["ics"].replace("\r\n ", "")
    assert all(link["token_hash"] == "" for link in sent["links"])
    token = await delivered_token(practice, message["id"])
    assert token != TOKEN_PLACEHOLDER
    assert token in (await delivered_ics(practice, message["id"])).replace("\r\n ", "")
    assert (await redeem(practice, token)).status == 200


async def test_missing_address_is_a_clear_error_and_to_adds_it(practice: Practice) -> None:
    client_id = await add_client(practice, email=None)
    appt = await add_appointment(practice, client_id, start=DAY)
    status, error = await practice.call(
        "POST", "/api/v1/invites", json={"appointment_id": appt["id"], "channel": "email"}
    )
    assert status == 422
    assert error["error"]["message"] == (
        f"client {client_id} has no email address; add one with --to or `tlh client update`"
    )
    status, error = await practice.call(
        "POST", "/api/v1/invites",
        json={"appointment_id": appt["id"], "channel": "sms", "to": "not a phone"},
    )  # fmt: skip
    assert status == 422
    assert "not a phone" not in str(error)
    status, sent = await practice.call(
        "POST", "/api/v1/invites",
        json={"appointment_id": appt["id"], "channel": "sms", "to": "+1 415 555 2671"},
    )  # fmt: skip
    assert status == 201, sent
    assert sent["messages"][0]["to"] == "+14155552671"
    # An explicit SMS invite carries the link.
    assert token_in(await delivered(practice, sent["messages"][0]["id"]))
    _, client = await practice.call("GET", f"/api/v1/clients/{client_id}")
    assert client["phone"] == "+14155552671"
    _, log = await practice.call("GET", "/api/v1/audit")
    assert any(e["action"] == "client.update" and e["target"] == client_id for e in log["items"])


async def test_cancelled_appointment_cannot_be_invited(practice: Practice) -> None:
    client_id = await add_client(practice)
    appt = await add_appointment(practice, client_id, start=DAY)
    await practice.call("POST", f"/api/v1/appointments/{appt['id']}/cancel")
    status, error = await practice.call(
        "POST", "/api/v1/invites", json={"appointment_id": appt["id"]}
    )
    assert status == 409
    assert "cancelled" in error["error"]["message"]


async def test_day_invites_summarise_sent_and_skipped(practice: Practice) -> None:
    ok = await add_client(practice)
    no_mail = await add_client(practice, name="Bo", email=None)
    first = await add_appointment(practice, ok, start=DAY)
    second = await add_appointment(practice, no_mail, start=DAY + timedelta(hours=1))
    await add_appointment(practice, ok, start=DAY + timedelta(hours=2), modality="in_person")
    status, summary = await practice.call(
        "POST", "/api/v1/invites/day", json={"date": "2031-04-15", "channel": "email"}
    )
    assert status == 200, summary
    assert summary["sent"] == 1
    assert summary["messages"] == 1
    assert [s["appointment_id"] for s in summary["skipped"]] == [second["id"]]
    assert "no email address" in summary["skipped"][0]["reason"]
    _, outbox = await practice.call("GET", "/api/v1/outbox")
    assert [m["appointment_id"] for m in outbox["items"]] == [first["id"]]


async def test_reschedule_revokes_and_resends_cancel_notifies(practice: Practice) -> None:
    client_id = await add_client(practice)
    appt = await add_appointment(
        practice, client_id, start=datetime.now(UTC) + timedelta(minutes=5)
    )
    _, sent = await practice.call("POST", "/api/v1/invites", json={"appointment_id": appt["id"]})
    old_token = await delivered_token(practice, sent["messages"][0]["id"])
    new_start = (datetime.now(UTC) + timedelta(minutes=7)).isoformat()
    status, _ = await practice.call(
        "PATCH", f"/api/v1/appointments/{appt['id']}", json={"start": new_start}
    )
    assert status == 200
    assert (await redeem(practice, old_token)).status == 404
    _, outbox = await practice.call("GET", "/api/v1/outbox")
    kinds = [m["kind"] for m in outbox["items"]]
    assert kinds == ["invitation", "reschedule"]
    new_token = await delivered_token(practice, outbox["items"][1]["id"])
    assert (await redeem(practice, new_token)).status == 200
    status, _ = await practice.call("POST", f"/api/v1/appointments/{appt['id']}/cancel")
    assert status == 200
    assert (await redeem(practice, new_token)).status == 404
    _, outbox = await practice.call("GET", "/api/v1/outbox")
    cancel = outbox["items"][-1]
    assert cancel["kind"] == "cancellation"
    assert "METHOD:CANCEL" in cancel["ics"]
    _, links = await practice.call("GET", f"/api/v1/appointments/{appt['id']}/links")
    assert all(link["revoked_at"] for link in links["items"])


async def test_reminders_follow_settings_and_keep_links_out_of_texts(practice: Practice) -> None:
    client_id = await add_client(practice, phone="+14155552671", reminders=["email", "sms"])
    start = datetime.now(UTC) + timedelta(minutes=25)
    appt = await add_appointment(practice, client_id, start=start)
    clock = practice.client.app[REMINDER_CLOCK]
    queued = await clock.tick(datetime.now(UTC))
    mine = [m for m in queued if m.appointment_id == appt["id"]]
    assert {m.channel.value for m in mine} == {"email", "sms"}
    sms = next(m for m in mine if m.channel.value == "sms")
    email = next(m for m in mine if m.channel.value == "email")
    assert "/j#" not in sms.text
    assert TOKEN_PLACEHOLDER in email.text  # its token is made when it is sent
    assert all(m.idempotency_key.startswith("reminder_soon:") for m in mine)
    assert await clock.tick(datetime.now(UTC)) == []


async def test_no_join_link_for_a_visit_whose_clinician_has_telehealth_off(
    practice: Practice,
) -> None:
    """An invitation is refused with the reason; a reminder still goes, without a link
    and without promising a video call."""
    client_id = await add_client(practice)
    appt = await add_appointment(
        practice, client_id, start=datetime.now(UTC) + timedelta(minutes=25)
    )
    status, _ = await practice.call(
        "PATCH", "/api/v1/staff/lee@example.org", json={"telehealth": False}
    )
    assert status == 200
    status, refused = await practice.call(
        "POST", "/api/v1/invites", json={"appointment_id": appt["id"]}
    )
    assert status == 409
    assert "cannot take place by video (telehealth is not enabled" in refused["error"]["message"]
    queued = await practice.client.app[REMINDER_CLOCK].tick(datetime.now(UTC))
    [email] = [m for m in queued if m.appointment_id == appt["id"]]
    assert email.link_id is None
    assert "/j#" not in email.text
    assert "video appointment" not in email.text
    assert "cannot take place by video" in email.text
    _, links = await practice.call("GET", f"/api/v1/appointments/{appt['id']}/links")
    assert links["items"] == []


async def test_quick_guest_and_website(practice: Practice) -> None:
    client_id = await add_client(practice)
    await add_appointment(practice, client_id)  # the clinician's own client
    status, quick = await practice.call(
        "POST", "/api/v1/invites/quick", json={"client_id": client_id}, role="clinician"
    )
    assert status == 201, quick
    assert quick["appointment"]["modality"] == "telehealth"
    assert (await redeem(practice, token_in(quick["url"]))).status == 200
    status, guest = await practice.call(
        "POST", "/api/v1/invites/guest", json={"clinician": "lee@example.org"}
    )
    assert status == 201
    assert guest["link"]["participant"] == "guest"
    status, snippet = await practice.call(
        "GET", "/api/v1/invites/website?clinician=lee@example.org"
    )
    assert status == 200
    assert snippet["html"].startswith("<form")
    assert "/j#" in snippet["html"]
    token = token_in(snippet["html"])
    assert (await redeem(practice, token)).status == 200
    assert (await redeem(practice, token)).status == 200  # reusable


async def test_a_website_join_code_lasts_until_revoked_and_a_guest_link_its_hours(
    practice: Practice,
) -> None:
    """The code printed on a practice's website must not die after 12 hours."""
    _, guest = await practice.call(
        "POST", "/api/v1/invites/guest", json={"clinician": "lee@example.org"}
    )
    _, snippet = await practice.call("GET", "/api/v1/invites/website?clinician=lee@example.org")
    with time_machine.travel(datetime.now(UTC) + timedelta(days=400), tick=True):
        assert (await redeem(practice, token_in(guest["url"]))).status == 404
        assert (await redeem(practice, token_in(snippet["html"]))).status == 200


def test_a_bad_template_stops_start_up(tmp_path: Path) -> None:
    from tlh.messaging.config import MessagingConfig
    from tlh.messaging.templates import default_templates_dir
    from tlh.server.app import create_app
    from tlh.server.settings import Settings

    for source in default_templates_dir().iterdir():
        if source.is_dir():
            continue  # the other languages' subfolders: this folder keeps its own English
        (tmp_path / source.name).write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "invitation.sms.txt").write_text("Hi {first_name}\n", encoding="utf-8")
    settings = Settings(
        data_dir=tmp_path / "data", messaging=MessagingConfig(templates_dir=str(tmp_path))
    )
    with pytest.raises(InvalidInput, match="first_name"):
        create_app(settings)
