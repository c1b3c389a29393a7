"""The client's language on the server (issue 13 item 8): set on the record (a language
not shipped is a 422), told to the page when the link is redeemed, and the pages' words
served per language."""

from __future__ import annotations

from typing import Any

from .conftest import Practice
from .outreach_helpers import add_appointment, add_client, delivered, redeem, token_in


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
