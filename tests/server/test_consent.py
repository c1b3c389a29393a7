"""Signing consent through a link, and the staff side of the ledger."""

from __future__ import annotations

import asyncio
import csv
import io
from pathlib import Path

import pytest

from tlh.server.keys import BUS, CTX, OUTREACH
from tlh.services.links import Outreach

from .conftest import Practice
from .outreach_helpers import PNG, add_appointment, add_client, consent_session, submit


async def test_accepting_stores_the_record_and_tells_the_staff(practice: Practice) -> None:
    client_id = await add_client(practice)
    cookie, form = await consent_session(practice, client_id)
    assert form["state"] == "sent"
    assert "Consent to telehealth" in form["form_markdown"]
    sub = practice.client.app[BUS].subscribe()
    response = await submit(
        practice,
        cookie,
        decision="accepted",
        form_hash=form["form_hash"],
        signed_name="Ana Client",
        signature_png=PNG,
    )
    assert response.status == 200, await response.text()
    record = await response.json()
    assert record["decision"] == "accepted"
    assert record["form_hash"] == form["form_hash"]
    assert record["source"] == "127.0.0.1"
    assert record["signature_png"].startswith("iVBORw0KGgo")
    async with asyncio.timeout(5):
        event = await sub.get()
        while event.type != "consent.accepted":
            event = await sub.get()
    assert event.data == {"client_id": client_id, "record_id": record["id"]}
    sub.close()
    # The same submission again: the same record; a different decision: 409.
    again = await submit(
        practice,
        cookie,
        decision="accepted",
        form_hash=form["form_hash"],
        signed_name="Ana Client",
        signature_png=PNG,
    )
    assert again.status == 200
    assert (await again.json())["id"] == record["id"]
    changed = await submit(practice, cookie, decision="declined", form_hash=form["form_hash"])
    assert changed.status == 409
    assert (await changed.json())["error"]["message"] == "consent already recorded"
    _status, listed = await practice.call("GET", f"/api/v1/consents?client={client_id}")
    assert listed["items"][0]["state"] == "valid"
    assert listed["items"][0]["latest"]["id"] == record["id"]


async def test_a_changed_form_is_rejected(practice: Practice) -> None:
    client_id = await add_client(practice)
    cookie, form = await consent_session(practice, client_id)
    app = practice.client.app
    old = app[OUTREACH]
    # The server's context carries the outreach it was built with: swap the form there.
    ctx = app[CTX]
    object.__setattr__(ctx, "outreach", Outreach(old.templates, old.form_text + "\nNew clause.\n"))
    response = await submit(practice, cookie, decision="declined", form_hash=form["form_hash"])
    assert response.status == 409
    error = (await response.json())["error"]
    assert error["code"] == "form_changed"
    assert error["message"] == "please read the updated form"


async def test_an_agreement_or_a_signature_is_required_and_the_drawing_capped(
    practice: Practice,
) -> None:
    client_id = await add_client(practice)
    cookie, form = await consent_session(practice, client_id)
    base = {"decision": "accepted", "form_hash": form["form_hash"], "signed_name": "Ana C"}
    missing = await submit(practice, cookie, **base)
    assert missing.status == 422
    assert "I agree" in (await missing.json())["error"]["message"]
    huge = await submit(practice, cookie, **base, signature_png="iVBORw0KGgo" + "A" * 250_000)
    assert huge.status == 413


async def test_a_typed_name_and_i_agree_sign_without_a_drawing(practice: Practice) -> None:
    # Someone using only a keyboard or a screen reader cannot draw in the box.
    client_id = await add_client(practice)
    cookie, form = await consent_session(practice, client_id)
    signed = await submit(
        practice,
        cookie,
        decision="accepted",
        form_hash=form["form_hash"],
        signed_name="Ana Client",
        agreed=True,
    )
    assert signed.status == 200, await signed.text()
    record = await signed.json()
    assert record["decision"] == "accepted"
    assert record["signed_name"] == "Ana Client"
    assert record.get("signature_png") is None


async def test_consent_without_a_session_is_401(practice: Practice) -> None:
    response = await practice.client.get(
        "/api/v1/link/consent", headers={"Cookie": "__Host-tlh_link=forged"}
    )
    assert response.status == 401


async def test_explain_names_missing_consent_until_verbal(practice: Practice) -> None:
    client_id = await add_client(practice)
    appt = await add_appointment(practice, client_id)
    status, answer = await practice.call("GET", f"/api/v1/appointments/{appt['id']}/eligibility")
    assert status == 200
    assert "consent_missing" in [b["code"] for b in answer["blockers"]]
    status, _ = await practice.call(
        "POST", "/api/v1/consents/verbal", json={"client_id": client_id, "note": "by phone"}
    )
    assert status == 201
    _, answer = await practice.call("GET", f"/api/v1/appointments/{appt['id']}/eligibility")
    assert not [b for b in answer["blockers"] if b["code"].startswith("consent")]
    status, _ = await practice.call(
        "POST", "/api/v1/consents/revoke", json={"client_id": client_id}
    )
    assert status == 201
    _, answer = await practice.call("GET", f"/api/v1/appointments/{appt['id']}/eligibility")
    assert "consent_revoked" in [b["code"] for b in answer["blockers"]]


@pytest.mark.parametrize("fmt", ["csv", "json"])
async def test_export_leaves_signatures_out_of_csv(
    practice: Practice, fmt: str, tmp_path: Path
) -> None:
    client_id = await add_client(practice)
    cookie, form = await consent_session(practice, client_id)
    await submit(
        practice, cookie, decision="accepted", form_hash=form["form_hash"],
        signed_name="=HYPERLINK(1)", signature_png=PNG,
    )  # fmt: skip
    response = await practice.client.get(
        f"/api/v1/consents/export?format={fmt}", headers=practice.auth()
    )
    assert response.status == 200
    text = await response.text()
    if fmt == "csv":
        rows = list(csv.DictReader(io.StringIO(text)))
        assert [r["decision"] for r in rows] == ["sent", "accepted"]
        assert "iVBORw0KGgo" not in text
        assert rows[1]["signed_name"] == "'=HYPERLINK(1)"
    else:
        assert "iVBORw0KGgo" in text
