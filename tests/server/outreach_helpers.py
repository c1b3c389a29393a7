"""Shared steps for the link, consent and invitation tests (a client, an appointment,
another clinician)."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from tlh.messaging.file_transport import mail_drop_dir
from tlh.server.keys import BUS

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


def mail_drop(practice: Practice) -> Path:
    """Where the file transports deliver (beside the data dir)."""
    return mail_drop_dir(practice.data_dir)


def _drop_file(practice: Practice, message_id: str) -> Path | None:
    for suffix in (".eml", ".txt"):
        path = mail_drop(practice) / f"{message_id}{suffix}"
        if path.exists():
            return path
    return None


async def delivered_file(practice: Practice, message_id: str, timeout: float = 10) -> Path:
    """A message's file in the mail drop, once the outbox worker has delivered it."""
    sub = practice.client.app[BUS].subscribe()
    try:
        async with asyncio.timeout(timeout):
            # Subscribed before looking: a delivery between the two is not missed.
            while (path := _drop_file(practice, message_id)) is None:
                await sub.get()
    finally:
        sub.close()
    return path


async def delivered_mail(practice: Practice, message_id: str) -> EmailMessage:
    """A delivered email, parsed."""
    path = await delivered_file(practice, message_id)
    mail = message_from_bytes(path.read_bytes(), policy=policy.default)
    assert isinstance(mail, EmailMessage)
    return mail


async def delivered(practice: Practice, message_id: str) -> str:
    """The text a message was delivered with: an email's plain part, a text's body."""
    path = await delivered_file(practice, message_id)
    if path.suffix == ".txt":
        return path.read_text()
    body = (await delivered_mail(practice, message_id)).get_body(("plain",))
    assert body is not None
    return str(body.get_content())  # type: ignore[attr-defined]


async def delivered_ics(practice: Practice, message_id: str) -> str:
    """The .ics a delivered email carries."""
    mail = await delivered_mail(practice, message_id)
    [ics] = [part for part in mail.iter_attachments() if part.get_content_type() == "text/calendar"]
    return str(ics.get_content())  # type: ignore[attr-defined]


async def delivered_token(practice: Practice, message_id: str) -> str:
    """The link token a message was delivered with."""
    return token_in(await delivered(practice, message_id))


async def redeem(practice: Practice, token: object, **headers: str) -> Any:
    headers = {"Origin": origin(practice), **headers}
    return await practice.client.post("/api/v1/link/redeem", json={"token": token}, headers=headers)


async def consent_session(practice: Practice, client_id: str) -> tuple[str, dict[str, Any]]:
    """Send the consent form, redeem its link; returns the session cookie and the form."""
    status, sent = await practice.call(
        "POST", "/api/v1/consents/send", json={"client_id": client_id, "channel": "email"}
    )
    assert status == 201, sent
    response = await redeem(practice, await delivered_token(practice, sent["message"]["id"]))
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
