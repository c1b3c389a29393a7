"""Shared steps for the call-link, staff socket and session tests."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp

from tlh.server.keys import STAFF_WEB
from tlh.services.staff_web import COOKIE

from .conftest import Practice
from .outreach_helpers import add_appointment, add_client, origin

CALL_LINK = re.compile(r"/c#([A-Za-z0-9_-]{40,})$")


@dataclass
class Clock:
    """A clock the tests move by hand (installed on the server's StaffWeb)."""

    now: datetime = field(default_factory=lambda: datetime.now(UTC))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def install_clock(practice: Practice) -> Clock:
    clock = Clock()
    practice.client.app[STAFF_WEB].clock = clock
    return clock


async def make_call_link(practice: Practice, role: str = "clinician", **body: Any) -> str:
    """A one-time login token for ``role`` (from the URL's fragment)."""
    status, made = await practice.call("POST", "/api/v1/call-links", role=role, json=body)
    assert status == 201, made
    found = CALL_LINK.search(made["url"])
    assert found, made["url"]
    return found.group(1)


async def redeem_call(practice: Practice, token: object, **headers: str) -> Any:
    headers = {"Origin": origin(practice), **headers}
    return await practice.client.post(
        "/api/v1/call-links/redeem", json={"token": token}, headers=headers
    )


async def staff_cookie(practice: Practice, role: str = "clinician") -> str:
    """Sign ``role`` in as the call page does; returns the cookie session id."""
    response = await redeem_call(practice, await make_call_link(practice, role))
    assert response.status == 200, await response.text()
    return str(response.cookies[COOKIE].value)


def cookie_headers(practice: Practice, cookie: str, origin_header: bool = True) -> dict[str, str]:
    headers = {"Cookie": f"{COOKIE}={cookie}"}
    if origin_header:
        headers["Origin"] = origin(practice)
    return headers


async def eligible_appointment(practice: Practice) -> str:
    """A confirmed telehealth appointment of the clinician starting now, consent given."""
    client_id = await add_client(practice)
    status, made = await practice.call(
        "POST", "/api/v1/consents/verbal", json={"client_id": client_id, "note": "read aloud"}
    )
    assert status == 201, made
    appt = await add_appointment(practice, client_id, start=datetime.now(UTC))
    return str(appt["id"])


async def next_frame(ws: aiohttp.ClientWebSocketResponse, kind: str) -> dict[str, Any]:
    """The next text frame of type ``kind`` (others are skipped), within 5 s."""
    async with asyncio.timeout(5):
        while True:
            msg = await ws.receive()
            assert msg.type == aiohttp.WSMsgType.TEXT, msg
            frame = json.loads(msg.data)
            if frame["type"] == kind:
                return dict(frame)


async def closed_with(ws: aiohttp.ClientWebSocketResponse) -> int | None:
    """Read until the server closes the socket; returns its close code."""
    async with asyncio.timeout(5):
        while True:
            msg = await ws.receive()
            if msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED):
                return ws.close_code


async def close_frame(ws: aiohttp.ClientWebSocketResponse) -> tuple[int, str]:
    """The code and reason of the server's close frame (read within 5 s).

    Read from the frame, not ``ws.close_code``: the server may drop the connection
    before the client's reply goes out, which the client then records as 1006."""
    async with asyncio.timeout(5):
        while True:
            msg = await ws.receive()
            if msg.type == aiohttp.WSMsgType.CLOSE:
                return int(msg.data), str(msg.extra)
            assert msg.type == aiohttp.WSMsgType.TEXT, msg


def audit_actions(entries: list[dict[str, Any]], action: str) -> Iterator[dict[str, Any]]:
    return (e for e in entries if e.get("action") == action)
