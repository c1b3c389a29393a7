"""Every message on the client page is true, in Debian's Chromium against the real server:
a cancelled visit's words stay, link errors name the practice and how to reach it, too
early says the day and "come back then", the line is ordered by who is due and `next`
takes the person due, and an early person is told they are early for their own time."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest

from .a11y import assert_accessible
from .browser import (
    LiveServer,
    client_appointment_link,
    client_link,
    needs_chromium,
    new_page,
    pass_device_check,
    post_json,
)

pytestmark = [pytest.mark.timeout(120), needs_chromium]

CONTACT = {"contact_phone": "+1 555 0100", "contact_email": "desk@example.org"}


async def admin(server: LiveServer, method: str, path: str, body: dict[str, Any]) -> Any:
    async with (
        aiohttp.ClientSession(headers=server.auth) as http,
        http.request(method, f"{server.url}{path}", json=body) as response,
    ):
        return response.status, await response.json(content_type=None)


async def stays(page: Any, selector: str, seconds: float) -> str:
    """The element's text, unchanged for ``seconds`` (a change fails the test)."""
    text = await page.locator(selector).text_content()
    changed = f"() => document.querySelector({selector!r}).textContent !== {text!r}"
    with pytest.raises(Exception, match="Timeout"):
        await page.wait_for_function(changed, timeout=seconds * 1000)
    return str(text)


async def test_a_cancelled_visit_says_so_and_the_words_stay(
    live_server: LiveServer, browser: Any
) -> None:
    status, _ = await admin(live_server, "PATCH", "/api/v1/practice", CONTACT)
    assert status == 200
    link, clinician = await client_link(live_server)
    page = await new_page(browser, 360, 640)
    await pass_device_check(page, link)
    await page.locator("#place", has_text="next in line").wait_for(timeout=10_000)
    appointment_id = clinician.split("|")[1]
    status, _ = await admin(
        live_server, "POST", f"/api/v1/appointments/{appointment_id}/cancel", {}
    )
    assert status == 200
    await page.get_by_role("heading", name="Your appointment changed").wait_for(timeout=5_000)
    text = await stays(page, "#problem-text", 5)
    assert text.startswith("Your appointment was cancelled.")
    assert "+1 555 0100" in text
    assert "desk@example.org" in text
    await assert_accessible(page, "a cancelled visit")

    # Opened again, the dead link says why and whom to ask.
    again = await new_page(browser, 360, 640)
    await again.goto(link)
    await again.get_by_role("heading", name="We could not open this link").wait_for(timeout=10_000)
    words = await again.locator("#problem-text").text_content() or ""
    assert words == (
        "This link is not valid: the appointment was cancelled. "
        "Ask Harbour Counselling for a new one: +1 555 0100, desk@example.org."
    )
    assert await again.locator("#practice").text_content() == "Harbour Counselling"
    assert page.js_errors == []


async def test_too_early_says_the_day_and_come_back_then(
    live_server: LiveServer, browser: Any
) -> None:
    await client_link(live_server)  # Dr. Lee
    # A day and a half ahead: the room opens on another calendar day whatever the hour
    # (a day ahead, run just after midnight, it opened late tonight).
    later = datetime.now(UTC) + timedelta(hours=36)
    link, _ = await client_appointment_link(live_server, "Tia Client", "tia@example.org", later)
    page = await new_page(browser, 360, 640)
    await pass_device_check(page, link)
    headline = page.locator("#waiting-text", has_text="Please come back then.")
    await headline.wait_for(timeout=10_000)
    text = await headline.text_content() or ""
    weekday = await page.evaluate(
        "(iso) => new Date(iso).toLocaleDateString([], { weekday: 'long' })",
        (later - timedelta(minutes=10)).isoformat(),
    )
    assert f"opens on {weekday}" in text, text
    # Hours away: no place in line, no "keep this page open", a calendar file instead.
    assert await page.locator("#place").text_content() == ""
    assert await page.locator("#keep-open").is_hidden()
    calendar = page.get_by_role("link", name="Add it to my calendar")
    assert await calendar.is_visible()
    assert (await calendar.get_attribute("href") or "").startswith("blob:")
    async with page.expect_download() as saving:
        await calendar.click()
    download = await saving.value
    assert download.suggested_filename == "appointment.ics"
    ics = (await download.path()).read_text()
    assert "BEGIN:VEVENT" in ics
    assert "DTSTART:" + later.strftime("%Y%m%d") in ics
    await assert_accessible(page, "too early")
    assert page.js_errors == []


async def test_the_person_due_goes_first_and_next_lets_them_in(
    live_server: LiveServer, browser: Any
) -> None:
    # Waiting rooms open 2 hours early here: someone 50 minutes early for a later visit
    # arrives before the person due now.
    status, _ = await admin(
        live_server, "PATCH", "/api/v1/practice", {"window_opens_before_min": 120}
    )
    assert status == 200
    due_link, clinician = await client_link(live_server)
    later = datetime.now(UTC) + timedelta(minutes=50)
    early_link, _ = await client_appointment_link(
        live_server, "Eli Client", "eli@example.org", later
    )
    early = await new_page(browser, 360, 640)
    await pass_device_check(early, early_link)
    await early.locator("#place", has_text="You are next in line.").wait_for(timeout=10_000)
    # "at 23:58" the same day, "on Sat 5 Dec, 00:10" past midnight: either says early.
    await early.locator(
        "#waiting-text", has_text=re.compile(r"You are early: your appointment is (at|on) ")
    ).wait_for(timeout=5_000)
    due = await new_page(browser, 360, 640)
    await pass_device_check(due, due_link)
    await due.locator("#place", has_text="You are next in line.").wait_for(timeout=10_000)
    await early.locator("#place", has_text="You are number 2 in line.").wait_for(timeout=5_000)
    await assert_accessible(early, "early, second in line")
    token = clinician.split("|")[0]
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"}) as http:
        status, admitted = await post_json(http, f"{live_server.url}/api/v1/rooms/next", {})
    assert status == 200, admitted
    await due.wait_for_function("() => document.title.startsWith('You are being let in')")
    await early.locator("#place", has_text="You are next in line.").wait_for(timeout=5_000)
    assert early.js_errors == []
    assert due.js_errors == []
