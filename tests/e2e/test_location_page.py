"""The location step of the client page (issue 13, item 7; policy ``ask_location``), in
Chromium at 360x640 against the real server: after the device check the client says
where they are, by keyboard alone, and reaches the waiting room; the clinician's call page
shows it; a page that skipped the step (the policy turned on meanwhile) is sent back to
it by the server's refusal of its hello."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from .a11y import assert_accessible
from .browser import (
    SHOTS,
    LiveServer,
    call_link,
    client_link,
    needs_chromium,
    new_page,
    no_overflow,
    open_call_page,
)

pytestmark = [pytest.mark.timeout(120), needs_chromium]

PLACE = "12 Harbour Lane, Portland, ME"
PHONE = "+12075550143"


async def set_policy(server: LiveServer, value: str) -> None:
    async with (
        aiohttp.ClientSession(headers=server.auth) as http,
        http.patch(f"{server.url}/api/v1/practice", json={"ask_location": value}) as answer,
    ):
        assert answer.status == 200, await answer.text()


async def entries(server: LiveServer) -> list[dict[str, Any]]:
    async with (
        aiohttp.ClientSession(headers=server.auth) as http,
        http.get(f"{server.url}/api/v1/rooms") as answer,
    ):
        rooms = await answer.json()
    return [e for room in rooms["items"] for e in room["entries"]]


async def through_device_check(page: Any, link: str) -> None:
    """Open the link and continue past the device check (fake camera and microphone)."""
    await page.goto(link)
    await page.get_by_role("heading", name="Check your camera and microphone").wait_for(
        timeout=10_000
    )
    await page.wait_for_function(
        "() => document.getElementById('device-preview').videoWidth > 0", timeout=10_000
    )
    await page.get_by_role("button", name="Continue", exact=True).click()


async def focused(page: Any) -> str:
    return str(await page.evaluate("() => document.activeElement && document.activeElement.id"))


async def tab_to(page: Any, element_id: str, most: int = 12) -> None:
    """Press Tab until ``element_id`` has the focus (the keyboard reaches it)."""
    for _ in range(most):
        if await focused(page) == element_id:
            return
        await page.keyboard.press("Tab")
    assert await focused(page) == element_id, f"Tab never reached #{element_id}"


async def test_the_client_says_where_they_are_by_keyboard_and_reaches_the_waiting_room(
    live_server: LiveServer, browser: Any
) -> None:
    await set_policy(live_server, "telehealth")
    link, clinician = await client_link(live_server)
    page = await new_page(browser, 360, 640)
    await through_device_check(page, link)
    await page.get_by_role("heading", name="Where are you right now?").wait_for(timeout=10_000)
    place = page.get_by_label("Your address, or your city and state")
    phone = page.get_by_label("A phone number to reach you there")
    # Never here before: nothing to fill.
    assert (await place.input_value(), await phone.input_value()) == ("", "")
    await no_overflow(page)
    await assert_accessible(page, "the location step")

    # Keyboard only: Tab to the place, Enter with nothing typed says what is missing.
    await tab_to(page, "location-place")
    await page.keyboard.press("Enter")
    error = page.locator("#location-error")
    await error.get_by_text("Please tell us where you are").wait_for(timeout=5_000)
    assert await place.get_attribute("aria-invalid") == "true"
    assert await focused(page) == "location-place"
    await page.keyboard.type(PLACE)
    await page.keyboard.press("Tab")
    assert await focused(page) == "location-phone"
    await page.keyboard.type("207 555 01")  # a digit short: the server says so
    await page.keyboard.press("Enter")
    await error.get_by_text("That phone number does not look right").wait_for(timeout=5_000)
    assert await focused(page) == "location-phone"
    await assert_accessible(page, "the location step with an error")
    SHOTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(SHOTS / "location-error-360x640.png"))
    await page.keyboard.type("43")
    await page.keyboard.press("Enter")
    await page.get_by_role("heading", name="Waiting room").wait_for(timeout=10_000)
    await page.get_by_text("will let you in", exact=False).wait_for(timeout=10_000)
    [entry] = await entries(live_server)
    assert (entry["location"]["place"], entry["location"]["phone"]) == (PLACE, PHONE)
    assert page.js_errors == []
    # The client's own page shows no one where they are (it is for the clinician).
    assert PHONE not in (await page.content())

    # The clinician's call page: one small line on the waiting person's row.
    staff = await new_page(browser)
    await open_call_page(staff, await call_link(live_server, clinician))
    row = staff.locator("#waiting-list li", has_text="Client's location")
    await row.wait_for(timeout=10_000)
    assert f"Client's location: {PLACE} · phone {PHONE}" in (await row.text_content() or "")
    assert staff.js_errors == []

    # A new link for the visit (a resend): asked again, last time's answer filled in.
    again = await new_page(browser, 360, 640)
    await through_device_check(again, await new_link(live_server, clinician))
    await again.get_by_role("heading", name="Where are you right now?").wait_for(timeout=10_000)
    await again.get_by_text("We filled in what you told us last time").wait_for(timeout=5_000)
    assert await again.get_by_label("Your address, or your city and state").input_value() == PLACE
    assert await again.get_by_label("A phone number to reach you there").input_value() == PHONE
    await again.get_by_role("button", name="Continue", exact=True).press("Enter")
    await again.get_by_role("heading", name="Waiting room").wait_for(timeout=10_000)
    assert again.js_errors == []


async def new_link(server: LiveServer, clinician: str) -> str:
    """Another join link for the appointment (``clinician`` as ``client_link`` says it)."""
    _, appointment_id = clinician.split("|")
    async with (
        aiohttp.ClientSession(headers=server.auth) as http,
        http.post(
            f"{server.url}/api/v1/invites/link", json={"appointment_id": appointment_id}
        ) as answer,
    ):
        made = await answer.json()
        assert answer.status == 201, made
    return f"{server.url}/j#{made['url'].rsplit('#', 1)[1]}"


async def test_a_page_that_skipped_the_step_is_sent_back_to_it_then_waits(
    live_server: LiveServer, browser: Any
) -> None:
    link, _ = await client_link(live_server)
    page = await new_page(browser, 360, 640)
    await page.goto(link)
    await page.get_by_role("heading", name="Check your camera and microphone").wait_for(
        timeout=10_000
    )
    # The page was told no location was needed; the practice starts asking now.
    await set_policy(live_server, "telehealth")
    await page.wait_for_function(
        "() => document.getElementById('device-preview').videoWidth > 0", timeout=10_000
    )
    await page.get_by_role("button", name="Continue", exact=True).click()
    # The server refused its hello (4428): the page asks, then says hello again.
    await page.get_by_role("heading", name="Where are you right now?").wait_for(timeout=10_000)
    assert await entries(live_server) == []
    await page.get_by_label("Your address, or your city and state").fill(PLACE)
    await page.get_by_label("A phone number to reach you there").fill("(207) 555-0143")
    await page.get_by_role("button", name="Continue", exact=True).click()
    await page.get_by_role("heading", name="Waiting room").wait_for(timeout=10_000)
    await page.get_by_text("will let you in", exact=False).wait_for(timeout=10_000)
    [entry] = await entries(live_server)
    assert entry["location"]["phone"] == PHONE
    assert page.js_errors == []
