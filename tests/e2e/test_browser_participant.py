"""The client page (/j) in Debian's headless Chromium calls a headless aiortc participant.

The clinician is the headless participant (Bearer token on /api/v1/call/ws, already in
the session); the client's real page waits in the room, is admitted over the API, and
both sides must decode the other's video. Every wait is bounded; the participant is
closed in a ``finally`` (a leftover aiortc decoder thread fails the test).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from tlh.media.participant import Participant

from .browser import (
    WATCH_FRAMES,
    LiveServer,
    client_link,
    needs_chromium,
    new_page,
    pass_device_check,
    post_json,
)

pytestmark = [pytest.mark.timeout(120), needs_chromium]

# The page's peer connections, for assertions (the page has one peer: the clinician).
PAGE_STATES = "() => [...window.tlhCall.peers.values()].map((p) => p.pc.connectionState)"


async def open_session(server: LiveServer, clinician: str) -> str:
    """Start the appointment's session as the clinician; the clinician's Bearer token."""
    token, appointment_id = clinician.split("|")
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"}) as http:
        status, started = await post_json(
            http, f"{server.url}/api/v1/sessions", {"appointment_id": appointment_id}
        )
    assert status == 201, started
    return token


@contextlib.asynccontextmanager
async def room_events(url: str, token: str) -> AsyncIterator[aiohttp.ClientWebSocketResponse]:
    """A staff ``/api/v1/events`` socket (Bearer ``token``) on the server at ``url``."""
    headers = {"Authorization": f"Bearer {token}", "Origin": url}
    async with (
        aiohttp.ClientSession() as http,
        http.ws_connect(f"{url}/api/v1/events", headers=headers) as events,
    ):
        yield events


async def joined_entry(events: aiohttp.ClientWebSocketResponse, within: float = 10.0) -> str:
    """The entry id of the next ``room.joined`` on a staff ``/api/v1/events`` socket."""
    async with asyncio.timeout(within):
        async for msg in events:
            assert msg.type == aiohttp.WSMsgType.TEXT, msg
            event = json.loads(msg.data)
            if event["type"] == "room.joined":
                return str(event["data"]["entry_id"])
    raise AssertionError("the events socket closed before anyone joined")


async def admit(server: LiveServer, token: str, entry_id: str) -> None:
    """Admit one waiting entry as the clinician."""
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"}) as http:
        status, entry = await post_json(
            http, f"{server.url}/api/v1/rooms/entries/{entry_id}/admit", {}
        )
    assert status == 200, entry


async def test_the_client_page_and_a_headless_clinician_see_each_other(
    live_server: LiveServer, browser: Any
) -> None:
    link, clinician = await client_link(live_server)
    token = await open_session(live_server, clinician)
    headless = Participant(live_server.url, staff_token=token)
    try:
        await headless.start()
        await headless.wait_state("admitted", within=5)
        page = await new_page(browser, 360, 640)
        # The staff event stream says when the page's hello has put it in the room.
        async with room_events(live_server.url, token) as events:
            await pass_device_check(page, link)
            entry_id = await joined_entry(events)
        assert headless.peers == {}  # nobody to call before the admission

        await admit(live_server, token, entry_id)
        await page.evaluate(WATCH_FRAMES)
        await page.wait_for_function(
            "() => window.tlhCall && [...window.tlhCall.peers.values()]"
            ".some((p) => p.pc.connectionState === 'connected')",
            timeout=20_000,
        )
        await page.wait_for_function("() => window.__frames > 0", timeout=20_000)
        await headless.wait_connected(1, within=10)
        await headless.wait_frames(3, within=10)

        assert await page.evaluate(PAGE_STATES) == ["connected"]
        assert await page.evaluate("() => window.__frames") > 0
        assert list(headless.peers) == [entry_id]
        link_to_page = headless.peers[entry_id]
        assert link_to_page.frames_received["video"] >= 3
        assert link_to_page.frames_received["audio"] >= 3
        assert link_to_page.frames_sent > 0
        assert page.js_errors == []
    finally:
        await headless.close()
