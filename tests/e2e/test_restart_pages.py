"""A restart of `tlh serve` loses nobody, seen from the pages in Debian's Chromium.

Two clients wait and one is in a call with the clinician's page; the server is stopped
(SIGTERM, and separately kill -9) and started again on the same data dir. Every page says
"Reconnecting…" while it is away and is back within 2 s of it answering: same entries,
same order, no second admission, no sign-out, and the call's media connections are the
same objects, still carrying frames.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.serving import wait_healthy
from tlh.services.bootstrap import init_practice

from .browser import (
    FRAMES_FLOWING,
    WATCH_FRAMES,
    LiveServer,
    client_appointment_link,
    client_link,
    free_port,
    needs_chromium,
    new_page,
    open_call_page,
    pass_device_check,
    post_json,
)

pytestmark = [pytest.mark.timeout(180), needs_chromium]

BANNER_SHOWN = "() => !document.getElementById('reconnecting').hidden"
BANNER_GONE = "() => document.getElementById('reconnecting').hidden"
#: Back within this long of the server answering /healthz.
BACK_MS = 2_000


def serve(data_dir: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    """`tlh serve` on ``data_dir`` as users run it, its output in ``log``."""
    env = {**os.environ, "TLH_CONFIG": os.devnull}
    with log.open("ab") as out:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tlh",
                "serve",
                "--data-dir",
                str(data_dir),
                "--port",
                str(port),
            ],
            stdout=out,
            stderr=out,
            env=env,
        )


async def healthy(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    await asyncio.to_thread(wait_healthy, url, proc, log=log, timeout_s=30)


async def room(server: LiveServer, token: str) -> dict[str, dict[str, Any]]:
    """Dr. Lee's live entries by id, as the API shows them."""
    async with (
        aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"}) as http,
        http.get(f"{server.url}/api/v1/rooms") as response,
    ):
        assert response.status == 200
        rooms = await response.json()
    return {e["id"]: e for r in rooms["items"] for e in r["entries"]}


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "kill-9"])
async def test_a_restart_loses_nobody(tmp_path: Path, browser: Any, how: signal.Signals) -> None:
    data = tmp_path / "data"
    token = await init_practice(data, "Harbour Counselling", "America/New_York", "a@example.org")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path / "serve.log"
    proc = serve(data, port, log)
    try:
        await healthy(url, proc, log)
        server = LiveServer(url, token, data)
        # The practice opens its waiting room 3 hours early: Bo and Cy wait for the visits
        # after Ana's.
        async with (
            aiohttp.ClientSession(headers=server.auth) as http,
            http.patch(f"{url}/api/v1/practice", json={"window_opens_before_min": 180}) as answer,
        ):
            assert answer.status == 200
        a_link, clinician = await client_link(server)
        lee, appointment_id = clinician.split("|")
        now = datetime.now(UTC)
        b_link, _ = await client_appointment_link(
            server, "Bo Client", "bo@example.org", now + timedelta(minutes=55)
        )
        c_link, _ = await client_appointment_link(
            server, "Cy Client", "cy@example.org", now + timedelta(minutes=110)
        )
        async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {lee}"}) as http:
            status, made = await post_json(
                http, f"{url}/api/v1/call-links", {"appointment_id": appointment_id}
            )
        assert status == 201, made
        staff = await new_page(browser, 1280, 800)
        await open_call_page(staff, f"{url}/c#{made['url'].rsplit('#', 1)[1]}")
        await staff.locator("body[data-ready]").wait_for(state="attached", timeout=15_000)

        # Ana is let into the call with the clinician; Bo and Cy wait, in that order.
        a = await new_page(browser, 360, 640)
        await pass_device_check(a, a_link)
        await (
            staff.locator("#waiting-list li", has_text="Ana Client")
            .get_by_role("button", name="Admit")
            .click()
        )
        for page in (a, staff):
            await page.evaluate(WATCH_FRAMES)
            await page.wait_for_function(FRAMES_FLOWING, timeout=20_000)
        b = await new_page(browser, 360, 640)
        await pass_device_check(b, b_link)
        await b.locator("#place", has_text="You are next in line.").wait_for(timeout=10_000)
        c = await new_page(browser, 360, 640)
        await pass_device_check(c, c_link)
        await c.locator("#place", has_text="You are number 2 in line.").wait_for(timeout=10_000)
        before = await room(server, lee)
        assert len(before) == 3
        for page in (a, staff):  # the call's connections, to know them again after
            await page.evaluate(
                "() => window.tlhCall.peers.forEach((p) => { p.pc.__before = true; })"
            )

        proc.send_signal(how)
        await asyncio.to_thread(proc.wait, 30)
        pages = (a, b, c, staff)
        for page in pages:
            await page.wait_for_function(BANNER_SHOWN, timeout=5_000)
        # A stop (SIGTERM) says the server is restarting and that the place is kept; a
        # crash says nothing it cannot know.
        said = await b.locator("#reconnecting").text_content()
        if how is signal.SIGTERM:
            assert said == "The practice's server is restarting. You keep your place; reconnecting…"
        else:
            assert said == "Reconnecting…"

        proc = serve(data, port, log)
        await healthy(url, proc, log)
        # Every page is back within 2 s of the server answering.
        await asyncio.gather(
            *(page.wait_for_function(BANNER_GONE, timeout=BACK_MS) for page in pages)
        )
        await b.locator("#place", has_text="You are next in line.").wait_for(timeout=BACK_MS)
        await c.locator("#place", has_text="You are number 2 in line.").wait_for(timeout=BACK_MS)
        after = await room(server, lee)
        assert set(after) == set(before)  # the same entries, none new
        for entry_id, entry in before.items():
            assert after[entry_id]["position"] == entry["position"]
            assert after[entry_id]["arrived_at"] == entry["arrived_at"]
            assert after[entry_id]["device_check"] == entry["device_check"]
        admitted = [e for e in after.values() if e["state"] in ("admitted", "in_session")]
        assert [e["label"] for e in admitted] == ["Ana Client"]  # no second admission
        # Nobody was signed out, and the call carried on over the same connections.
        assert await staff.locator("#lock").is_hidden()
        for page in (a, staff):
            kept = await page.evaluate(
                "() => [...window.tlhCall.peers.values()].map((p) => p.pc.__before === true)"
            )
            assert kept == [True]
            await page.evaluate("() => { window.__frames = 0; }")
            await page.wait_for_function(FRAMES_FLOWING, timeout=10_000)
        assert await a.locator("#call").is_visible()
        for page in pages:
            assert page.js_errors == []
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                await asyncio.to_thread(proc.wait, 20)
            except subprocess.TimeoutExpired:
                proc.kill()
