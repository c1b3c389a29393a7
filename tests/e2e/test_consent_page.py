"""The client's consent page in Debian's headless Chromium, against the real server."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.maildrop import delivered_link
from tests.serving import free_port
from tlh.server.run import start
from tlh.server.settings import Settings
from tlh.services.bootstrap import init_practice

from .a11y import assert_accessible, assert_visible_focus

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = [
    pytest.mark.timeout(90),
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed"),
]


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[tuple[str, str]]:
    data = tmp_path / "data"
    token = await init_practice(data, "Harbour Counselling", "America/New_York", "a@example.org")
    port = free_port()
    runner = await start(Settings(data_dir=data, port=port))
    try:
        yield f"http://127.0.0.1:{port}", token
    finally:
        await runner.cleanup()


async def test_a_client_signs_on_a_phone_sized_page(
    server: tuple[str, str], tmp_path: Path
) -> None:
    playwright_api = pytest.importorskip("playwright.async_api")
    url, token = server
    auth = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession(headers=auth) as http:
        async with http.post(
            f"{url}/api/v1/clients", json={"name": "Ana Client", "email": "ana@example.org"}
        ) as response:
            client_id = (await response.json())["id"]
        async with http.post(
            f"{url}/api/v1/consents/send", json={"client_id": client_id, "channel": "email"}
        ) as response:
            assert response.status == 201
            sent = await response.json()
        link = await delivered_link(url, tmp_path / "data", sent["message"]["id"])
        async with http.ws_connect(f"{url}/api/v1/events") as ws:
            async with playwright_api.async_playwright() as pw:
                browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
                try:
                    page = await browser.new_page(viewport={"width": 360, "height": 640})
                    await _sign(page, link, tmp_path)
                finally:
                    await browser.close()
            event = await _event(ws, "consent.accepted")
        assert event["data"]["client_id"] == client_id
        async with http.get(f"{url}/api/v1/consents/export?format=json") as response:
            ledger = json.loads(await response.read())
        form_hash = sent["record"]["form_hash"]
    accepted = [r for r in ledger if r["decision"] == "accepted"]
    assert len(accepted) == 1
    assert accepted[0]["form_hash"] == form_hash
    assert accepted[0]["signed_name"] == "Ana Client"
    assert base64.b64decode(accepted[0]["signature_png"]).startswith(b"\x89PNG")
    assert "HeadlessChrome" in accepted[0]["user_agent"]


async def _sign(page: Any, link: str, tmp_path: Path) -> None:
    await page.goto(link)
    await page.get_by_text("Consent to telehealth services").wait_for(timeout=10_000)
    assert "#" not in page.url  # the token left the address bar
    assert await page.locator("#practice").text_content() == "Harbour Counselling"
    await page.get_by_label("Type your full name").fill("Ana Client")
    await page.get_by_label("I have read the form and I agree").check()
    await page.get_by_text("Add a drawn signature (optional)").click()
    await page.locator("#pad").scroll_into_view_if_needed()
    box = await page.locator("#pad").bounding_box()
    assert box is not None
    await page.mouse.move(box["x"] + 20, box["y"] + 40)
    await page.mouse.down()
    for step in range(1, 12):
        await page.mouse.move(box["x"] + 20 + step * 20, box["y"] + 40 + (step % 3) * 25)
    await page.mouse.up()
    shot = tmp_path / "consent-360x640.png"
    await page.screenshot(path=str(shot), full_page=False)
    assert shot.stat().st_size > 1000
    await page.get_by_role("button", name="I agree and sign").click()
    done = page.get_by_text("Thank you — you're all set")
    try:
        await done.wait_for(timeout=10_000)
    except Exception:
        raise AssertionError(await page.locator("#form-error").text_content()) from None
    await page.screenshot(path=str(tmp_path / "done-360x640.png"))


async def _event(ws: aiohttp.ClientWebSocketResponse, kind: str) -> dict[str, Any]:
    async with asyncio.timeout(10):
        while True:
            message = await ws.receive_json()
            if message.get("type") == kind:
                return dict(message)


async def test_a_client_signs_with_the_keyboard_alone(
    server: tuple[str, str], tmp_path: Path
) -> None:
    """Tab, type, Space and Enter only (WCAG 2.1.1), a visible ring of 3:1 on every stop
    (2.4.7, 1.4.11), and axe-core clean: the typed name and "I agree" sign; no drawing."""
    playwright_api = pytest.importorskip("playwright.async_api")
    url, token = server
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"}) as http:
        async with http.post(
            f"{url}/api/v1/clients", json={"name": "Kay Client", "email": "kay@example.org"}
        ) as response:
            client_id = (await response.json())["id"]
        async with http.post(
            f"{url}/api/v1/consents/send", json={"client_id": client_id, "channel": "email"}
        ) as response:
            sent = await response.json()
        link = await delivered_link(url, tmp_path / "data", sent["message"]["id"])
        async with playwright_api.async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
            try:
                page = await browser.new_page(viewport={"width": 360, "height": 640})
                await page.goto(link)
                await page.get_by_text("Consent to telehealth services").wait_for(timeout=10_000)
                await assert_accessible(page, "the consent form")
                # The form scrolls with the page: no box of its own to scroll inside.
                inner = await page.evaluate(
                    "() => { const t = document.getElementById('form-text');"
                    " return t.scrollHeight - t.clientHeight; }"
                )
                assert inner <= 1
                stops = await _tab_to(page, "signed-name")
                assert stops  # every stop on the way showed its focus
                await page.keyboard.type("Kay Client")
                await _tab_to(page, "accept")
                await page.keyboard.press("Enter")  # without "I agree": told, and taken there
                await page.locator("#form-error").wait_for(timeout=5_000)
                assert await page.evaluate("() => document.activeElement.id") == "agree"
                await assert_visible_focus(page)
                await assert_accessible(page, "the consent form with an error")
                await page.keyboard.press("Space")
                await _tab_to(page, "accept")
                await page.keyboard.press("Enter")
                await page.get_by_text("Thank you — you're all set").wait_for(timeout=10_000)
                await page.screenshot(path=str(tmp_path / "keyboard-done.png"))
            finally:
                await browser.close()
        async with http.get(f"{url}/api/v1/consents/export?format=json") as response:
            ledger = json.loads(await response.read())
    accepted = [r for r in ledger if r["decision"] == "accepted" and r["client_id"] == client_id]
    assert len(accepted) == 1
    assert accepted[0]["signed_name"] == "Kay Client"
    assert accepted[0].get("signature_png") is None


async def _tab_to(page: Any, element_id: str, limit: int = 30) -> list[dict[str, Any]]:
    """Press Tab until ``element_id`` has the focus; every stop must show a visible ring."""
    stops = []
    for _ in range(limit):
        await page.keyboard.press("Tab")
        stops.append(await assert_visible_focus(page))
        if await page.evaluate("() => document.activeElement.id") == element_id:
            return stops
    raise AssertionError(f"{element_id} was not reached with Tab: {stops}")
