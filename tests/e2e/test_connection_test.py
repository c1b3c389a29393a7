"""The client page's "Test my connection" in Debian's Chromium against the server's echo peer.

The fake camera and microphone go to the real echo peer over loopback and come back; the
page shows the server's verdict with its figures, and the result rides on the client's
waiting-room entry once the page says hello.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from .browser import (
    SHOTS,
    LiveServer,
    client_link,
    needs_chromium,
    new_page,
    no_overflow,
)

pytestmark = [pytest.mark.timeout(60), needs_chromium]

FIGURES = re.compile(r"delay (\d+) ms · jitter (\d+) ms · loss ([\d.]+) % · speed (\d+) kbps")


@contextlib.asynccontextmanager
async def staff_events(
    server: LiveServer, token: str
) -> AsyncIterator[aiohttp.ClientWebSocketResponse]:
    """A staff ``/api/v1/events`` socket with ``token``."""
    headers = {"Authorization": f"Bearer {token}", "Origin": server.url}
    async with (
        aiohttp.ClientSession() as http,
        http.ws_connect(f"{server.url}/api/v1/events", headers=headers) as events,
    ):
        yield events


async def next_event(events: aiohttp.ClientWebSocketResponse, kind: str) -> dict[str, Any]:
    async with asyncio.timeout(10):
        async for msg in events:
            event = json.loads(msg.data)
            if event["type"] == kind:
                return dict(event)
    raise AssertionError(f"the events socket closed before {kind}")


async def live_entries(server: LiveServer, token: str) -> list[dict[str, Any]]:
    """Every live entry of every room, as the clinician's `tlh room list --json` sees them."""
    headers = {"Authorization": f"Bearer {token}"}
    async with (
        aiohttp.ClientSession(headers=headers) as http,
        http.get(f"{server.url}/api/v1/rooms") as response,
    ):
        assert response.status == 200
        rooms = await response.json()
    return [e for room in rooms["items"] for e in room["entries"]] + rooms["queue"]


async def test_the_page_tests_its_connection_and_the_clinician_sees_it(
    live_server: LiveServer, browser: Any
) -> None:
    link, clinician = await client_link(live_server)
    page = await new_page(browser, 360, 640)
    await page.goto(link)
    await page.get_by_role("heading", name="Check your camera and microphone").wait_for(
        timeout=10_000
    )
    await page.wait_for_function(
        "() => document.getElementById('device-preview').videoWidth > 0", timeout=10_000
    )
    await page.get_by_role("button", name="Test my connection").click()
    verdict = page.locator("#conntest-verdict")
    await page.wait_for_function(
        "() => /^Your connection: /.test(document.getElementById('conntest-verdict').textContent)",
        timeout=25_000,
    )
    figures = FIGURES.fullmatch(await page.locator("#conntest-figures").text_content() or "")
    assert figures is not None, await page.locator("#conntest-figures").text_content()
    rtt, jitter, loss, kbps = (float(v) for v in figures.groups())
    # Loopback: no real delay or loss; the echo re-encodes at a few hundred kbps.
    assert rtt < 50
    assert jitter < 50
    assert loss < 1
    assert 50 < kbps < 5_000
    assert await verdict.text_content() in {"Your connection: good", "Your connection: fair"}
    assert (await page.locator("#conntest-advice").text_content() or "").startswith(
        "Your connection"
    )
    await page.screenshot(path=str(SHOTS / "conntest-360x640.png"))
    await no_overflow(page)
    assert page.js_errors == []

    token = clinician.split("|")[0]
    async with staff_events(live_server, token) as events:
        await page.get_by_role("button", name="Continue", exact=True).click()
        await next_event(events, "room.joined")
    (entry,) = await live_entries(live_server, token)
    test = entry["connection_test"]
    shown = (await verdict.text_content() or "").removeprefix("Your connection: ")
    assert test["verdict"] == shown
    assert test["rtt_ms"] == pytest.approx(rtt, abs=1)
    assert test["bitrate_kbps"] == pytest.approx(kbps, abs=1)


async def test_pressed_while_the_camera_is_still_starting_it_waits_for_it(
    live_server: LiveServer, browser: Any
) -> None:
    """Someone taps "Test my connection" the moment the page shows: the camera is still
    starting, and the test waits for it instead of asking them to allow it."""
    link, _ = await client_link(live_server)
    page = await new_page(browser, 360, 640)
    await page.goto(link)
    button = page.get_by_role("button", name="Test my connection")
    await button.click()  # no wait for the preview
    await page.wait_for_function(
        "() => /^Your connection: /.test(document.getElementById('conntest-verdict').textContent)",
        timeout=25_000,
    )
    assert page.js_errors == []
