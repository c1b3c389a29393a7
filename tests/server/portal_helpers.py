"""Shared steps of the client portal tests: ask for a code, read it from the mail drop,
sign in (the real routes, the real outbox and file transport)."""

from __future__ import annotations

import asyncio
import re
from typing import Any

from tlh.server.keys import BUS

from .conftest import Practice
from .outreach_helpers import delivered, origin

CODE = re.compile(r"\b(\d{6})\b")


def headers(practice: Practice, cookie: str | None = None) -> dict[str, str]:
    """What the portal page sends: its Origin, and its cookie when it has one."""
    found = {"Origin": origin(practice)}
    if cookie is not None:
        found["Cookie"] = f"__Host-tlh_portal={cookie}"
    return found


async def ask_code(practice: Practice, address: str) -> Any:
    """``POST /api/v1/portal/code``: the response."""
    return await practice.client.post(
        "/api/v1/portal/code", json={"address": address}, headers=headers(practice)
    )


async def sign_in(practice: Practice, address: str, code: str) -> Any:
    """``POST /api/v1/portal/sign-in``: the response."""
    return await practice.client.post(
        "/api/v1/portal/sign-in", json={"address": address, "code": code}, headers=headers(practice)
    )


async def code_sent(practice: Practice, sub: Any, timeout: float = 10) -> str:
    """The code of the next portal_code message delivered (read from the mail drop)."""
    async with asyncio.timeout(timeout):
        while True:
            event = await sub.get()
            if event.type == "message.sent" and event.data["kind"] == "portal_code":
                break
    text = await delivered(practice, event.data["id"])
    found = CODE.search(text)
    assert found, "no code in the message"
    return found.group(1)


async def signed_in(practice: Practice, address: str) -> str:
    """Ask for a code, read it, sign in: the session cookie's value."""
    sub = practice.client.app[BUS].subscribe()
    try:
        assert (await ask_code(practice, address)).status == 202
        code = await code_sent(practice, sub)
    finally:
        sub.close()
    response = await sign_in(practice, address, code)
    assert response.status == 200, await response.text()
    return str(response.cookies["__Host-tlh_portal"].value)


async def me(practice: Practice, cookie: str) -> Any:
    """``GET /api/v1/portal/me`` with the cookie: the response."""
    return await practice.client.get("/api/v1/portal/me", headers=headers(practice, cookie))
