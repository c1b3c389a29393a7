"""Issue 3's bad-input list: the items no other test covered (see the audit in the report).

An expired token answers like every other bad token; an invalid email (or phone) given at
send time or on the client record is refused without echoing it and stores nothing; a
consent submitted twice at the same moment makes one record.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from .conftest import Practice
from .outreach_helpers import (
    PNG,
    add_appointment,
    add_client,
    consent_session,
    redeem,
    submit,
    token_in,
)


async def _copy_link(practice: Practice, appt_id: str) -> str:
    status, made = await practice.call(
        "POST", "/api/v1/invites/link", json={"appointment_id": appt_id}
    )
    assert status == 201, made
    return token_in(made["url"])


async def test_an_expired_token_is_told_it_is_old_and_nothing_more(
    practice: Practice,
) -> None:
    """Its holder hears that the link is simply old (issue 16: the page says cancelled,
    moved or old for a link that was valid); otherwise the answer is an unknown token's."""
    client_id = await add_client(practice)
    now = datetime.now(UTC)
    appt = await add_appointment(practice, client_id, start=now + timedelta(minutes=5))
    token = await _copy_link(practice, appt["id"])
    unknown = await redeem(practice, "z" * 43)
    assert unknown.status == 404
    unknown_body = await unknown.json()
    assert (await redeem(practice, token)).status == 200  # alive before it expires
    # Past the appointment's end (55 min) and the link's grace (30 min): expired.
    with time_machine.travel(now + timedelta(hours=3), tick=True):
        expired = await redeem(practice, token)
        assert expired.status == 404
        told = await expired.json()
        assert told["error"]["details"].pop("reason") == "expired"
        assert told["error"]["message"].startswith("This link is not valid any more")
        told["error"]["message"] = unknown_body["error"]["message"]
        assert told == unknown_body
        assert "Set-Cookie" not in expired.headers
    _, log = await practice.call("GET", "/api/v1/audit")
    failed = [e for e in log["items"] if e["action"] == "link.redeem.failed"]
    assert len(failed) == 2  # the unknown and the expired, told apart by nobody
    assert token not in str(log)


async def test_an_invalid_email_given_at_send_time_is_refused_and_not_stored(
    practice: Practice,
) -> None:
    client_id = await add_client(practice, email=None)
    appt = await add_appointment(practice, client_id)
    status, error = await practice.call(
        "POST", "/api/v1/invites",
        json={"appointment_id": appt["id"], "channel": "email", "to": "ana@@example"},
    )  # fmt: skip
    assert status in (400, 422), error
    assert error["error"]["code"] == "invalid"
    assert "ana@@example" not in str(error)
    _, client = await practice.call("GET", f"/api/v1/clients/{client_id}")
    assert client["email"] is None
    _, outbox = await practice.call("GET", "/api/v1/outbox")
    assert [m for m in outbox["items"] if m.get("appointment_id") == appt["id"]] == []


@pytest.mark.parametrize(
    ("field", "value"),
    [("email", "ana.example.org"), ("email", "ana@"), ("phone", "12"), ("phone", "+1 555")],
)
async def test_an_invalid_address_on_the_client_record_is_refused(
    practice: Practice, field: str, value: str
) -> None:
    status, error = await practice.call(
        "POST", "/api/v1/clients", json={"name": "Ana Client", field: value}
    )
    assert status in (400, 422), error
    assert error["error"]["code"] == "invalid"
    assert value not in str(error)
    _, listed = await practice.call("GET", "/api/v1/clients")
    assert listed["items"] == []


async def test_a_consent_submitted_twice_at_once_makes_one_record(practice: Practice) -> None:
    client_id = await add_client(practice)
    cookie, form = await consent_session(practice, client_id)
    body = {
        "decision": "accepted",
        "form_hash": form["form_hash"],
        "signed_name": "Ana Client",
        "signature_png": PNG,
    }
    first, second = await asyncio.gather(
        submit(practice, cookie, **body), submit(practice, cookie, **body)
    )
    assert (first.status, second.status) == (200, 200)
    assert (await first.json())["id"] == (await second.json())["id"]
    _, listed = await practice.call("GET", f"/api/v1/consents?client={client_id}")
    assert listed["items"][0]["state"] == "valid"
    export = await practice.client.get(
        "/api/v1/consents/export?format=json", headers=practice.auth()
    )
    ledger = await export.json()
    signed = [r for r in ledger if r["client_id"] == client_id and r["decision"] == "accepted"]
    assert len(signed) == 1
