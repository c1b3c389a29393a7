"""The client's language on the server (issue 13 item 8): set on the record (a language
not shipped is a 422), told to the page when the link is redeemed, and the pages' words
served per language."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from tlh.messaging.file_transport import mail_drop_dir
from tlh.server.keys import BUS

from .conftest import Practice
from .outreach_helpers import add_appointment, add_client, delivered, origin, redeem, token_in


async def _invited_token(practice: Practice, client_id: str) -> str:
    appt = await add_appointment(practice, client_id)
    status, sent = await practice.call(
        "POST", "/api/v1/invites", json={"appointment_id": appt["id"], "channel": "email"}
    )
    assert status == 201, sent
    return token_in(await delivered(practice, sent["messages"][0]["id"]))


async def test_a_spanish_client_is_told_in_spanish_and_the_page_learns_it(
    practice: Practice,
) -> None:
    client_id = await add_client(practice, language="es-MX")
    status, shown = await practice.call("GET", f"/api/v1/clients/{client_id}")
    assert (status, shown["language"]) == (200, "es")
    token = await _invited_token(practice, client_id)
    answer = await redeem(practice, token)
    assert answer.status == 200
    assert (await answer.json())["language"] == "es"


async def test_an_english_client_has_no_language_in_the_answer(practice: Practice) -> None:
    client_id = await add_client(practice, name="Eli English", email="eli@example.org")
    token = await _invited_token(practice, client_id)
    answer = await redeem(practice, token)
    assert answer.status == 200
    assert "language" not in await answer.json()


async def test_a_language_not_shipped_is_refused(practice: Practice) -> None:
    status, error = await practice.call(
        "POST", "/api/v1/clients", json={"name": "Kai", "language": "klingon"}
    )
    assert status == 422
    assert error["error"]["message"] == "unknown language 'klingon': use one of en, es"
    client_id = await add_client(practice, name="Uma", email="uma@example.org")
    status, error = await practice.call(
        "PATCH", f"/api/v1/clients/{client_id}", json={"language": "fr"}
    )
    assert status == 422
    status, kept = await practice.call("GET", f"/api/v1/clients/{client_id}")
    assert kept["language"] is None


async def test_the_pages_words_are_served_per_language(practice: Practice) -> None:
    answer = await practice.client.get("/i18n/es.json", headers={"Accept-Encoding": "br"})
    assert answer.status == 200
    assert answer.headers["Content-Type"] == "application/json; charset=utf-8"
    assert "script-src 'self'" in answer.headers["Content-Security-Policy"]
    words: dict[str, Any] = await answer.json()
    assert words["Waiting room"] == "Sala de espera"
    again = await practice.client.get(
        "/i18n/es.json", headers={"If-None-Match": answer.headers["ETag"]}
    )
    assert again.status == 304
    for other in ("en", "fr", "xx"):
        missing = await practice.client.get(f"/i18n/{other}.json")
        assert missing.status == 404
        assert (await missing.json())["error"]["code"] == "not_found"


async def test_the_identity_code_text_is_in_the_clients_language(practice: Practice) -> None:
    status, _ = await practice.call("PATCH", "/api/v1/practice", json={"identity_check": "code"})
    assert status == 200
    client_id = await add_client(practice, phone="+12025550178", language="es")
    appt = await add_appointment(
        practice, client_id, start=datetime.now(UTC) + timedelta(minutes=5)
    )
    status, made = await practice.call(
        "POST", "/api/v1/invites/link", json={"appointment_id": appt["id"]}
    )
    assert status == 201, made
    opened = await redeem(practice, token_in(made["url"]))
    cookie = opened.cookies["__Host-tlh_link"].value
    sub = practice.client.app[BUS].subscribe()
    try:
        sent = await practice.client.post(
            "/api/v1/link/identity/code",
            json={"channel": "sms"},
            headers={"Cookie": f"__Host-tlh_link={cookie}", "Origin": origin(practice)},
        )
        assert sent.status == 204
        async with asyncio.timeout(10):
            while (event := await sub.get()).type != "message.sent":
                pass
    finally:
        sub.close()
    text = (mail_drop_dir(practice.data_dir) / f"{event.data['id']}.txt").read_text()
    body = text.split("\n\n", 1)[1]  # after the file transport's To: line
    spanish = r"Test Practice: su código para la consulta por video es \d{6}\. Funciona durante "
    assert re.fullmatch(spanish + r"10 minutos\. No lo comparta\.\n?", body)
