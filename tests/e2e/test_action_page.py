"""The one-tap confirm/cancel page (``/a``) in Debian's headless Chromium at 360x640,
against ``tlh serve``: the links are read from the delivered reminder, the page shows what
the link does with one button, the keyboard presses it, and axe-core finds no serious or
critical violation in any state (issue 13, item 4)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.actions_served import Served, served_practice

from .a11y import assert_accessible, assert_visible_focus
from .browser import SHOTS, needs_chromium, new_page, no_overflow

pytestmark = [pytest.mark.timeout(120), needs_chromium]


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    with served_practice(tmp_path) as practice:
        yield practice


async def _status(served: Served, appt_id: str) -> str:
    async with (
        aiohttp.ClientSession(served.url, headers=served.admin) as http,
        http.get(f"/api/v1/appointments/{appt_id}") as response,
    ):
        return str((await response.json())["status"])


async def _shot(page: Any, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(SHOTS / f"action-{name}-360x640.png"))


async def test_a_client_confirms_then_cancels_from_the_reminder_on_a_phone(
    served: Served, browser: Any
) -> None:
    confirm, cancel = served.links["apt_late"]
    page = await new_page(browser, 360, 640)

    await page.goto(confirm)
    await page.get_by_role("heading", name="Confirm your appointment").wait_for(timeout=10_000)
    assert "#" not in page.url  # the token left the address bar
    button = page.get_by_role("button", name="Confirm my appointment")
    assert await page.get_by_role("button").count() == 1  # one button, nothing else to press
    assert "Dr. Lee" in (await page.locator("#with").text_content() or "")
    assert await _status(served, "apt_late") == "scheduled"  # opening changed nothing
    await no_overflow(page)
    await _shot(page, "confirm")
    await assert_accessible(page, "confirm link opened")
    await page.keyboard.press("Tab")
    assert await button.evaluate("(el) => el === document.activeElement")
    await assert_visible_focus(page)
    await page.keyboard.press("Enter")
    await page.get_by_role("heading", name="Your appointment is confirmed").wait_for(timeout=10_000)
    assert await _status(served, "apt_late") == "confirmed"
    await assert_accessible(page, "confirmed")

    # The same link again: said plainly, nothing changed.
    await page.goto(confirm)
    await page.get_by_role("heading", name="Nothing was changed").wait_for(timeout=10_000)
    assert "already used" in (await page.locator("#problem-text").text_content() or "")
    assert await page.get_by_role("button").count() == 0
    await assert_accessible(page, "replayed link")

    # Cancelling 20 hours ahead: the page says it is a late cancellation before the tap.
    await page.goto(cancel)
    await page.get_by_role("heading", name="Cancel your appointment").wait_for(timeout=10_000)
    assert not await page.locator("#late-note").is_hidden()
    await _shot(page, "cancel")
    await assert_accessible(page, "cancel link opened")
    await page.get_by_role("button", name="Cancel my appointment").click()
    await page.get_by_role("heading", name="Your appointment is cancelled").wait_for(timeout=10_000)
    assert "late cancellation" in (await page.locator("#done-text").text_content() or "")
    assert await _status(served, "apt_late") == "late_cancelled"
    await assert_accessible(page, "cancelled")
    assert page.js_errors == []
