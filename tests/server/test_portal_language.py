"""The portal's ``me`` answer carries the language the page speaks (issue 13 item 8): the
signed-in client's as recorded; a caregiver's clients' when those with one agree (the
language their messages come in), else none (the browser's preference)."""

from __future__ import annotations

from typing import Any

from .conftest import Practice
from .outreach_helpers import add_client
from .portal_helpers import me, signed_in


async def _language(practice: Practice, client_id: str, language: str | None) -> None:
    status, made = await practice.call(
        "PATCH", f"/api/v1/clients/{client_id}", json={"language": language}
    )
    assert status == 200, made


async def _me(practice: Practice, cookie: str) -> dict[str, Any]:
    answer = await me(practice, cookie)
    assert answer.status == 200, await answer.text()
    return dict(await answer.json())


async def test_a_clients_portal_speaks_their_language(practice: Practice) -> None:
    ana = await add_client(practice)
    cookie = await signed_in(practice, "ana@example.org")
    assert (await _me(practice, cookie))["language"] is None  # the browser's, then
    await _language(practice, ana, "es")
    assert (await _me(practice, cookie))["language"] == "es"


async def test_a_caregivers_portal_speaks_their_clients_language_when_they_agree(
    practice: Practice,
) -> None:
    kids = [
        await add_client(practice, name=f"Kid {n}", email=f"kid{n}@example.org") for n in (1, 2)
    ]
    for kid in kids:
        body = {"name": "Pat Parent", "email": "pat@example.org", "portal": True}
        status, made = await practice.call("POST", f"/api/v1/clients/{kid}/contacts", json=body)
        assert status == 201, made
    cookie = await signed_in(practice, "pat@example.org")
    answer = await _me(practice, cookie)
    assert (answer["kind"], len(answer["clients"])) == ("contact", 2)
    await _language(practice, kids[0], "es")
    # One recorded, the other none: the one the practice recorded.
    assert (await _me(practice, cookie))["language"] == "es"
    await _language(practice, kids[1], "es")
    assert (await _me(practice, cookie))["language"] == "es"
    # Two languages: neither is picked by the order of a list.
    await _language(practice, kids[1], "en")
    assert (await _me(practice, cookie))["language"] is None
