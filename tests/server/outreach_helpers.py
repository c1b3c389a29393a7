"""Shared steps for the link, consent and invitation tests (a client, an appointment,
another clinician)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from .conftest import Practice

TOKEN = re.compile(r"/j#([A-Za-z0-9_-]{40,})")


def origin(practice: Practice) -> str:
    return str(practice.client.make_url("/")).rstrip("/")


async def add_clinician(
    practice: Practice, email: str = "kim@example.org", name: str = "Kim"
) -> dict[str, Any]:
    """Another clinician with telehealth on: the answer (``staff`` and its ``token``)."""
    body = {"email": email, "name": name, "role": "clinician", "telehealth": True}
    status, made = await practice.call("POST", "/api/v1/staff", json=body)
    assert status == 201, made
    return dict(made)


async def add_client(practice: Practice, **fields: Any) -> str:
    fields = {"name": "Ana Client", "email": "ana@example.org", **fields}
    status, made = await practice.call("POST", "/api/v1/clients", json=fields)
    assert status == 201, made
    return str(made["id"])


async def add_appointment(
    practice: Practice,
    client_id: str,
    start: datetime | None = None,
    *,
    notify: bool = False,
    **extra: Any,
) -> dict[str, Any]:
    """A confirmed telehealth visit with Lee, booked without its invitation (``notify``:
    with it, as the policy's ``invite_on_create`` says) so a test sends what it means to."""
    when = start or datetime.now(UTC) + timedelta(days=2)
    body = {
        "client_ids": [client_id],
        "clinicians": ["lee@example.org"],
        "start": when.isoformat(),
        "duration_min": 50,
        "modality": "telehealth",
        "status": "confirmed",
        **extra,
    }
    path = "/api/v1/appointments" + ("" if notify else "?notify=0")
    status, made = await practice.call("POST", path, json=body)
    assert status == 201, made
    return dict(made["items"][0])


def token_in(text: str) -> str:
    found = TOKEN.search(text)
    assert found, "no link in the message"
    return found.group(1)


async def redeem(practice: Practice, token: object, **headers: str) -> Any:
    headers = {"Origin": origin(practice), **headers}
    return await practice.client.post("/api/v1/link/redeem", json={"token": token}, headers=headers)


async def consent_session(practice: Practice, client_id: str) -> tuple[str, dict[str, Any]]:
    """Send the consent form, redeem its link; returns the session cookie and the form."""
    status, sent = await practice.call(
        "POST", "/api/v1/consents/send", json={"client_id": client_id, "channel": "email"}
    )
    assert status == 201, sent
    response = await redeem(practice, token_in(sent["message"]["text"]))
    assert response.status == 200
    cookie = response.cookies["__Host-tlh_link"].value
    form = await practice.client.get(
        "/api/v1/link/consent", headers={"Cookie": f"__Host-tlh_link={cookie}"}
    )
    assert form.status == 200
    return cookie, await form.json()


PNG = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8/5+hHgAHggJ/PchI7wAAAABJRU5ErkJggg=="


async def submit(practice: Practice, cookie: str, **body: Any) -> Any:
    return await practice.client.post(
        "/api/v1/link/consent",
        json=body,
        headers={"Cookie": f"__Host-tlh_link={cookie}", "Origin": origin(practice)},
    )
