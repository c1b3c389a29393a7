"""No one-time code at rest: a portal sign-in code and a link's identity code are made when
the outbox hands their message to the transport, so the data dir (its files as bytes, and
every table read back decrypted through the store) never holds one, while the delivered
message (the mail drop) carries a code that works."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta

import msgspec

from tlh.domain.messages import Message
from tlh.server.keys import BUS, STORE
from tlh.store.base import TABLES

from .conftest import Practice
from .outreach_helpers import add_appointment, add_client, delivered, origin, redeem, token_in
from .portal_helpers import ask_code, code_sent, sign_in

#: What the stored message holds where the code goes.
PLACEHOLDER = "{code}"


async def _appears(code: str, practice: Practice) -> list[str]:
    """Where ``code`` stands as a number of its own: in a raw file of the data dir, or in
    a record read back through the store (decrypted when the dir is sealed). A fraction of
    a second in a timestamp (``.123456``) is not a code."""
    pattern = re.compile(rb"(?<![\d.])" + code.encode() + rb"(?!\d)")
    store = practice.client.app[STORE]
    found = [
        f"table {table}"
        for table, kind in TABLES.items()
        if pattern.search(msgspec.json.encode(await store.all(kind)))
    ]
    found += [
        str(path.relative_to(practice.data_dir))
        for path in sorted(practice.data_dir.rglob("*"))
        if path.is_file() and pattern.search(path.read_bytes())
    ]
    return found


async def _stored(practice: Practice, message_id: str) -> Message:
    message = await practice.client.app[STORE].get(Message, message_id)
    assert message is not None
    return message


async def test_a_portal_code_is_delivered_but_never_stored(practice: Practice) -> None:
    await add_client(practice)
    sub = practice.client.app[BUS].subscribe()
    try:
        assert (await ask_code(practice, "ana@example.org")).status == 202
        code = await code_sent(practice, sub)
    finally:
        sub.close()
    [message] = list(await practice.client.app[STORE].all(Message))
    assert await _appears(code, practice) == []
    assert PLACEHOLDER in (await _stored(practice, message.id)).text
    response = await sign_in(practice, "ana@example.org", code)
    assert response.status == 200


async def _open_code_link(practice: Practice) -> str:
    """A client's join link, redeemed, with the identity check by code: the cookie."""
    status, _ = await practice.call("PATCH", "/api/v1/practice", json={"identity_check": "code"})
    assert status == 200
    client_id = await add_client(practice, phone="+12025550178")
    start = datetime.now(UTC) + timedelta(minutes=5)
    appt = await add_appointment(practice, client_id, start=start)
    status, made = await practice.call(
        "POST", "/api/v1/invites/link", json={"appointment_id": appt["id"]}
    )
    assert status == 201, made
    response = await redeem(practice, token_in(made["url"]))
    assert response.status == 200
    return str(response.cookies["__Host-tlh_link"].value)


async def test_an_identity_code_is_delivered_but_never_stored(practice: Practice) -> None:
    cookie = await _open_code_link(practice)
    headers = {"Cookie": f"__Host-tlh_link={cookie}", "Origin": origin(practice)}
    sub = practice.client.app[BUS].subscribe()
    try:
        sent = await practice.client.post(
            "/api/v1/link/identity/code", json={"channel": "email"}, headers=headers
        )
        assert sent.status == 204
        async with asyncio.timeout(10):
            while True:
                event = await sub.get()
                if event.type == "message.sent" and event.data["kind"] == "identity_code":
                    break
    finally:
        sub.close()
    text = await delivered(practice, event.data["id"])
    found = re.search(r"\b(\d{6})\b", text)
    assert found, "the delivered message carries its code"
    code = found.group(1)
    assert await _appears(code, practice) == []
    assert PLACEHOLDER in (await _stored(practice, event.data["id"])).text
    answer = await practice.client.post(
        "/api/v1/link/identity", json={"code": code}, headers=headers
    )
    assert answer.status == 204
