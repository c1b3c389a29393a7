"""The client page (/j) in Debian's headless Chromium in a relayed call: the practice asks
for the relay (policy ``relay = "always"``), so the page uploads once to the server's
``relay`` peer and receives the clinician (a headless aiortc participant) from
``relay:STAFF`` — media forwarded by the server without decoding. Both sides must decode
the other's video, the page draws no tile for the upload, and the segment is recorded as
relayed.
"""

from __future__ import annotations

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
)
from .test_browser_participant import admit, joined_entry, open_session, room_events

pytestmark = [pytest.mark.timeout(120), needs_chromium]

PEER_IDS = "() => [...window.tlhCall.peers.keys()].sort()"


async def relay_always(server: LiveServer) -> None:
    async with (
        aiohttp.ClientSession(headers=server.auth) as http,
        http.patch(f"{server.url}/api/v1/practice", json={"relay": "always"}) as answer,
    ):
        assert answer.status == 200, await answer.text()


async def test_the_client_page_and_a_headless_clinician_meet_through_the_relay(
    live_server: LiveServer, browser: Any
) -> None:
    await relay_always(live_server)
    link, clinician = await client_link(live_server)
    token = await open_session(live_server, clinician)
    headless = Participant(live_server.url, staff_token=token)
    try:
        await headless.start()
        await headless.wait_state("admitted", within=5)
        page = await new_page(browser, 360, 640)
        async with room_events(live_server.url, token) as events:
            await pass_device_check(page, link)
            entry_id = await joined_entry(events)
        await admit(live_server, token, entry_id)

        await page.evaluate(WATCH_FRAMES)
        await page.wait_for_function("() => window.__frames > 0", timeout=20_000)
        await headless.wait_frames(3, within=15)

        staff_id = headless.peer_id
        assert await page.evaluate(PEER_IDS) == ["relay", f"relay:{staff_id}"]
        assert await page.locator(".tile").count() == 1  # the upload has no tile
        assert sorted(headless.peers) == ["relay", f"relay:{entry_id}"]
        from_page = headless.peers[f"relay:{entry_id}"]
        assert from_page.frames_received["video"] >= 3
        assert from_page.frames_received["audio"] >= 3
        async with (
            aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"}) as http,
            http.get(f"{live_server.url}/api/v1/sessions") as answer,
        ):
            segments = (await answer.json())["items"]
        assert [s["relayed"] for s in segments] == [True]
        assert page.js_errors == []
    finally:
        await headless.close()
