"""Booking on the portal (issue 13 item 5) in Chromium at 360x640: the code read from
the mail drop, a clinician, a modality, a day and an open time chosen from the keyboard,
the new appointment in the list; a time taken meanwhile said so; "Ask to move" a visit;
axe-core in every state."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import pytest

from .a11y import assert_accessible, assert_visible_focus
from .browser import SHOTS, LiveServer, needs_chromium, new_page, no_overflow, post_json
from .test_portal_actions import _sign_in

pytestmark = [pytest.mark.timeout(120), needs_chromium]

ZONE = ZoneInfo("America/New_York")  # the live server's practice


def _day(days: int) -> date:
    return (datetime.now(UTC) + timedelta(days=days)).astimezone(ZONE).date()


async def _bookable_practice(server: LiveServer) -> tuple[str, str]:
    """Clients may book; Dr. Lee works 09:00-17:00 every day, by video and in person;
    Ana (Dr. Lee's) has a scheduled visit in two days. Lee's id and that visit's id."""
    async with aiohttp.ClientSession(headers=server.auth) as http:
        url = server.url
        async with http.patch(f"{url}/api/v1/practice", json={"self_scheduling": "clients"}) as r:
            assert r.status == 200
        status, lee = await post_json(
            http,
            f"{url}/api/v1/staff",
            {"email": "lee@example.org", "name": "Dr. Lee", "role": "clinician",
             "telehealth": True},
        )  # fmt: skip
        assert status == 201, lee
        for weekday in range(7):
            status, _ = await post_json(
                http,
                f"{url}/api/v1/availability",
                {"clinician": "lee@example.org", "weekday": weekday, "start_local": "09:00",
                 "end_local": "17:00", "mode": "both"},
            )  # fmt: skip
            assert status == 201
        status, ana = await post_json(
            http,
            f"{url}/api/v1/clients",
            {"name": "Ana Client", "email": "ana@example.org", "clinicians": ["lee@example.org"]},
        )
        assert status == 201, ana
        status, bo = await post_json(
            http, f"{url}/api/v1/clients", {"name": "Bo Client", "email": "bo@example.org"}
        )
        assert status == 201, bo
        start = datetime.combine(_day(2), datetime.min.time(), ZONE).replace(hour=10)
        status, made = await post_json(
            http,
            f"{url}/api/v1/appointments?notify=0",
            {"client_ids": [ana["id"]], "clinicians": ["lee@example.org"],
             "start": start.isoformat(), "duration_min": 50, "modality": "telehealth",
             "status": "scheduled"},
        )  # fmt: skip
        assert status == 201, made
    return str(lee["staff"]["id"]), str(made["items"][0]["id"])


async def _staff_books(server: LiveServer, start: str) -> None:
    """Someone else (Bo, through the desk) takes the slot at ``start``."""
    async with aiohttp.ClientSession(headers=server.auth) as http:
        async with http.get(f"{server.url}/api/v1/clients?q=Bo") as answer:
            bo = next(c for c in (await answer.json())["items"] if c["name"] == "Bo Client")
        status, made = await post_json(
            http,
            f"{server.url}/api/v1/slots/book",
            {"client_id": bo["id"], "clinician": "lee@example.org", "start": start,
             "modality": "telehealth"},
        )  # fmt: skip
        assert status == 201, made


async def test_book_a_slot_see_it_listed_lose_a_race_and_ask_to_move(
    live_server: LiveServer, browser: Any
) -> None:
    _, visit = await _bookable_practice(live_server)
    page = await new_page(browser, 360, 640)
    await _sign_in(page, live_server)
    part = page.locator("section.book")
    await part.get_by_role("heading", name="Book a session").wait_for(timeout=10_000)
    assert await part.get_by_label("Clinician").input_value() != ""
    assert await part.get_by_role("radio", name="Video (telehealth)").is_checked()
    assert await part.get_by_role("radio", name="In person").count() == 1
    day = part.get_by_label("Day")
    await day.fill(str(_day(3)))
    await day.dispatch_event("change")
    times = part.locator(".picker .time-list input")
    await times.first.wait_for(timeout=10_000)
    await assert_accessible(page, "portal booking times")
    await no_overflow(page)
    SHOTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(SHOTS / "portal-book-360x640.png"), full_page=True)

    # Keyboard: the first time with Space, Tab to "Book this time", Enter.
    await times.first.focus()
    await page.keyboard.press("Space")
    assert await times.first.is_checked()
    await page.keyboard.press("Tab")
    assert await page.evaluate("() => document.activeElement.textContent") == "Book this time"
    await assert_visible_focus(page)
    await page.keyboard.press("Enter")
    await page.locator("#action-done").get_by_text("Booked:").wait_for(timeout=10_000)
    assert await page.locator("#appointments li").count() == 2
    focused = await page.evaluate("() => document.activeElement.id")
    assert focused.startswith("appt-")
    assert focused != f"appt-{visit}"
    await assert_accessible(page, "portal booked")

    # A time taken by someone else meanwhile: said so, and the day's times reloaded.
    second = times.nth(1)
    await second.check()
    label = await part.locator(".picker .time-list label").nth(1).text_content() or ""
    before = await times.count()
    starts = await page.evaluate(
        """async (day) => {
          const me = await (await fetch('/api/v1/portal/booking')).json();
          const c = me.clients[0];
          const q = new URLSearchParams({client: c.client_id, clinician: c.clinicians[0].id,
                                         from: day, modality: 'telehealth'});
          return (await (await fetch('/api/v1/portal/slots?' + q)).json()).items.map(s => s.start);
        }""",
        str(_day(3)),
    )
    await _staff_books(live_server, starts[1])
    await part.get_by_role("button", name="Book this time").click()
    error = part.locator(".picker .error")
    await error.get_by_text("just taken").wait_for(timeout=10_000)
    assert await times.count() == before - 1
    assert label not in [
        await x.text_content() for x in await part.locator(".picker .time-list label").all()
    ]
    await assert_accessible(page, "portal slot taken")
    await no_overflow(page)

    # Ask to move the scheduled visit: a panel under the list, then the card says so.
    card = page.locator(f'#appointments li[data-id="{visit}"]')
    await card.get_by_role("button", name="Ask to move").click()
    panel = page.locator("section.move")
    await panel.get_by_role("heading", name="Ask to move an appointment").wait_for()
    assert await page.evaluate("() => document.activeElement.id") == "move-title"
    move_day = panel.get_by_label("Day")
    await move_day.fill(str(_day(4)))
    await move_day.dispatch_event("change")
    await panel.locator(".time-list input").first.check()
    await assert_accessible(page, "portal ask to move")
    await panel.get_by_role("button", name="Ask to move to this time").click()
    await page.locator("#action-done").get_by_text("has your request").wait_for(timeout=10_000)
    assert await panel.is_hidden()
    await card.get_by_text("You asked to move this to").wait_for(timeout=5_000)
    assert await card.get_by_role("button", name="Ask to move").count() == 0
    async with (
        aiohttp.ClientSession(headers=live_server.auth) as http,
        http.get(f"{live_server.url}/api/v1/reschedule-requests") as answer,
    ):
        waiting = (await answer.json())["items"]
    assert [r["appointment_id"] for r in waiting] == [visit]
    await assert_accessible(page, "portal move asked")
    await no_overflow(page)
    assert page.js_errors == []
