"""Confirm and Cancel on the portal (issue 13 item 4) in Chromium at 360x640: the code
read from the mail drop, Confirm pressed from the keyboard, Cancel asking once more and
saying when it counts as late, a late cancellation; axe-core in every state."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest

from tlh.messaging.file_transport import mail_drop_dir

from .a11y import assert_accessible, assert_visible_focus
from .browser import SHOTS, LiveServer, needs_chromium, new_page, no_overflow, post_json
from .test_portal_page import _code_from_mail_drop, _practice_with_a_visit

pytestmark = [pytest.mark.timeout(120), needs_chromium]


async def _scheduled_visit(server: LiveServer, start: datetime) -> str:
    """A second visit for Ana with Dr. Lee, scheduled (not yet confirmed)."""
    async with aiohttp.ClientSession(headers=server.auth) as http:
        async with http.get(f"{server.url}/api/v1/clients") as answer:
            [ana] = (await answer.json())["items"]
        status, made = await post_json(
            http,
            f"{server.url}/api/v1/appointments?notify=0",
            {
                "client_ids": [ana["id"]],
                "clinicians": ["lee@example.org"],
                "start": start.isoformat(),
                "duration_min": 50,
                "modality": "telehealth",
                "status": "scheduled",
            },
        )
        assert status == 201, made
    return str(made["items"][0]["id"])


async def _stored_status(server: LiveServer, appt_id: str) -> str:
    async with (
        aiohttp.ClientSession(headers=server.auth) as http,
        http.get(f"{server.url}/api/v1/appointments/{appt_id}") as answer,
    ):
        return str((await answer.json())["status"])


async def _sign_in(page: Any, server: LiveServer) -> None:
    await page.goto(f"{server.url}/p")
    await page.locator("#address").fill("ana@example.org")
    await page.get_by_role("button", name="Send me a code").click()
    await page.get_by_role("heading", name="Enter your code").wait_for(timeout=10_000)
    await page.locator("#code-input").fill(
        await _code_from_mail_drop(mail_drop_dir(server.data_dir), {})
    )
    await page.get_by_role("button", name="Sign in", exact=True).click()
    await page.get_by_role("heading", name="Your appointments").wait_for(timeout=10_000)


async def test_confirm_from_the_keyboard_then_cancel_and_a_late_cancel(
    live_server: LiveServer, browser: Any
) -> None:
    soon = await _practice_with_a_visit(live_server, datetime.now(UTC) + timedelta(hours=5))
    later = await _scheduled_visit(live_server, datetime.now(UTC) + timedelta(days=3))
    page = await new_page(browser, 360, 640)
    await page.clock.install()
    await _sign_in(page, live_server)
    far = page.locator(f'#appointments li[data-id="{later}"]')
    near = page.locator(f'#appointments li[data-id="{soon}"]')
    await far.wait_for(timeout=5_000)
    # Scheduled: Confirm and Cancel; confirmed already: Cancel only.
    assert await far.get_by_role("button", name="Confirm").is_visible()
    assert await far.get_by_role("button", name="Cancel", exact=True).is_visible()
    assert await near.get_by_role("button", name="Confirm").count() == 0
    assert await near.get_by_role("button", name="Cancel", exact=True).is_visible()
    await assert_accessible(page, "portal cards with Confirm and Cancel")
    await no_overflow(page)

    # Keyboard only: Tab to the far card's Confirm, Enter.
    confirm_id = await far.get_by_role("button", name="Confirm").evaluate(
        "(b) => { b.id = 'far-confirm'; return b.id; }"
    )
    for _ in range(40):
        if await page.evaluate("() => document.activeElement.id") == confirm_id:
            break
        await page.keyboard.press("Tab")
    else:
        raise AssertionError("Confirm is not reachable with Tab")
    await assert_visible_focus(page)
    await page.keyboard.press("Enter")
    await page.locator("#action-done").get_by_text("is confirmed").wait_for(timeout=10_000)
    assert "Confirmed" in (await far.locator(".status").text_content() or "")
    assert await far.get_by_role("button", name="Confirm").count() == 0
    assert await page.evaluate("() => document.activeElement.id") == f"appt-{later}"
    assert await _stored_status(live_server, later) == "confirmed"
    await assert_accessible(page, "portal confirmed")

    # Cancel asks once more, says from when it would be late; "Keep" changes nothing.
    await far.get_by_role("button", name="Cancel", exact=True).click()
    ask = far.locator(".ask")
    await ask.wait_for(timeout=5_000)
    assert "counts as a late cancellation" in (await ask.text_content() or "")
    assert (await ask.locator(".late-note").text_content() or "").startswith("From ")
    assert await page.evaluate("() => document.activeElement.textContent") == (
        "Keep my appointment"
    )
    await assert_accessible(page, "portal cancel asked")
    # The list is fetched again each minute: the open question stays, focus in it.
    await page.clock.run_for("01:05")
    await page.wait_for_function(
        "() => document.activeElement && document.activeElement.isConnected"
        " && document.activeElement.textContent === 'Keep my appointment'",
        timeout=5_000,
    )
    assert await ask.is_visible()
    await no_overflow(page)
    SHOTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(SHOTS / "portal-cancel-ask-360x640.png"))
    await page.keyboard.press("Enter")
    assert await ask.is_hidden()
    assert await _stored_status(live_server, later) == "confirmed"
    await far.get_by_role("button", name="Cancel", exact=True).click()
    await far.get_by_role("button", name="Yes, cancel it").click()
    await page.locator("#action-done").get_by_text("is cancelled.").wait_for(timeout=10_000)
    assert "Cancelled" in (await far.locator(".status").text_content() or "")
    assert await far.get_by_role("button", name="Cancel", exact=True).count() == 0
    assert await _stored_status(live_server, later) == "cancelled"

    # Five hours ahead, inside late_cancel_hours (24): the question says it is late now.
    await near.get_by_role("button", name="Cancel", exact=True).click()
    note = near.locator(".late-note")
    await note.wait_for(timeout=5_000)
    assert "cancelling now counts as a late cancellation" in (await note.text_content() or "")
    await near.get_by_role("button", name="Yes, cancel it").click()
    await page.locator("#action-done").get_by_text("a late cancellation").wait_for(timeout=10_000)
    assert await _stored_status(live_server, soon) == "late_cancelled"
    await assert_accessible(page, "portal late cancelled")
    await no_overflow(page)
    assert page.js_errors == []
