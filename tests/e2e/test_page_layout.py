"""Layout and accessibility of /j and /c as people use them, in Debian's Chromium.

Element positions against the viewport (the next action in view at 360x640, "Leave" in
view on a phone held sideways, the waiting list beside the video at 1280x800, no
letterboxed call at 768x1024), the focus ring's contrast, toggle and group semantics, the
favicon, and axe-core with no serious or critical violation in every state.
"""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from .a11y import assert_accessible, assert_visible_focus, box, in_view
from .browser import (
    FRAMES_FLOWING,
    SHOTS,
    WATCH_FRAMES,
    LiveServer,
    call_link,
    client_link,
    needs_chromium,
    new_page,
    no_overflow,
    open_call_page,
    pass_device_check,
    post_json,
)

pytestmark = [pytest.mark.timeout(150), needs_chromium]


async def staff_post(server: LiveServer, clinician: str, path: str, body: dict[str, Any]) -> Any:
    token = clinician.split("|")[0]
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"}) as http:
        return await post_json(http, f"{server.url}{path}", body)


def missing(page: Any) -> list[str]:
    """Every 404 the page met (the favicon was one on every load)."""
    found: list[str] = []
    page.on("response", lambda r: found.append(r.url) if r.status == 404 else None)
    return found


async def test_the_client_page_on_a_phone(live_server: LiveServer, browser: Any) -> None:
    link, clinician = await client_link(live_server)
    page = await new_page(browser, 360, 640)
    not_found = missing(page)
    await page.goto(link)
    await page.get_by_role("heading", name="Check your camera and microphone").wait_for(
        timeout=10_000
    )
    await page.wait_for_function(
        "() => document.getElementById('device-preview').videoWidth > 0", timeout=10_000
    )
    # The next action is in view without scrolling.
    await in_view(page, "#device-continue")
    await no_overflow(page)
    await assert_accessible(page, "device check")
    await page.keyboard.press("Tab")
    await assert_visible_focus(page)
    await page.locator("#device-continue").click()
    await page.get_by_role("heading", name="Waiting room").wait_for(timeout=10_000)
    # Waiting: the camera and microphone are released (no live track anywhere).
    await page.locator("#place").filter(has_text="next in line").wait_for(timeout=10_000)
    live = await page.evaluate(
        "() => [...document.querySelectorAll('video')].flatMap((v) => v.srcObject"
        " ? v.srcObject.getTracks() : []).filter((t) => t.readyState === 'live').length"
        " + window.tlhCall.stream.getTracks().filter((t) => t.readyState === 'live').length"
    )
    assert live == 0
    await assert_accessible(page, "waiting")

    status, _ = await staff_post(
        live_server, clinician, "/api/v1/rooms/next", {}
    )  # let in: announced, then the camera comes back for the call
    assert status == 200
    await page.wait_for_function("() => document.title.startsWith('You are being let in')")
    assert await page.evaluate("() => window.tlhChimes") == 1
    await page.locator("#call").wait_for(timeout=10_000)
    await page.wait_for_function(
        "() => window.tlhCall.stream.getTracks().some((t) => t.readyState === 'live')",
        timeout=10_000,
    )
    assert "You are being let in" in (await page.locator("#call-status").text_content() or "")
    await assert_accessible(page, "in the call")
    # One of label change or aria-pressed, not both; no toolbar without arrow keys.
    assert await page.locator("[aria-pressed]").count() == 0
    assert await page.locator("[role=toolbar]").count() == 0
    await page.get_by_role("button", name="Camera off").click()
    await page.get_by_role("button", name="Camera on").wait_for(timeout=5_000)
    await in_view(page, "#leave")
    await page.set_viewport_size({"width": 640, "height": 360})  # a phone held sideways
    await in_view(page, "#leave")
    SHOTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(SHOTS / "call-640x360.png"))
    await page.locator("#timer-toggle").focus()
    await page.keyboard.press("Tab")  # by keyboard: the ring shows (:focus-visible)
    assert await page.evaluate("() => document.activeElement.id") == "leave"
    await assert_visible_focus(page)
    assert not [u for u in not_found if u.endswith("/favicon.ico")]
    assert page.js_errors == []


async def test_the_clinician_page_at_1280_by_800(live_server: LiveServer, browser: Any) -> None:
    link, clinician = await client_link(live_server)
    client = await new_page(browser, 360, 640)
    await pass_device_check(client, link)
    # Nobody has opened anything: the client is not told the clinician is online.
    await client.locator("#presence", has_text="is not online yet").wait_for(timeout=5_000)
    status, guest = await staff_post(live_server, clinician, "/api/v1/invites/guest", {})
    assert status == 201, guest
    visitor = await new_page(browser, 360, 640)
    await visitor.goto(guest["url"])
    await visitor.get_by_role("heading", name="Check your camera and microphone").wait_for(
        timeout=10_000
    )
    await visitor.wait_for_function(
        "() => document.getElementById('device-preview').videoWidth > 0", timeout=10_000
    )
    await visitor.get_by_label("Your name").fill("Sam Guest")
    await visitor.get_by_role("button", name="Continue", exact=True).click()
    await visitor.get_by_role("heading", name="Waiting room").wait_for(timeout=10_000)

    staff = await new_page(browser, 1280, 800)
    not_found = missing(staff)
    await open_call_page(staff, await call_link(live_server, clinician))
    await staff.locator("body[data-ready]").wait_for(state="attached", timeout=15_000)
    rows = staff.locator("#waiting-list li[data-entry]")
    await rows.nth(1).wait_for(timeout=10_000)
    await client.locator("#presence", has_text="Dr. Lee is online").wait_for(timeout=5_000)
    # The waiting list is beside the video and in view, every row saying what the
    # dashboard says; each person once (a guest is not listed twice).
    call = await box(staff, "#call")
    listed = await box(staff, "#waiting-list")
    assert listed["x"] >= call["x"] + call["width"] - 1
    await in_view(staff, "#waiting-list li[data-entry] >> nth=1")
    texts = [t.strip() for t in await rows.all_text_contents()]
    assert len(texts) == 2
    assert len(await staff.locator("li[data-entry]").all()) == 2
    ana = next(t for t in texts if t.startswith("Ana Client"))
    for fact in ("camera ok, mic ok", "connection not tested", "appointment ", "online"):
        assert fact in ana, (fact, ana)
    sam = next(t for t in texts if t.startswith("Sam Guest"))
    assert "guest" in sam
    await assert_accessible(staff, "the clinician's page, two waiting")
    await staff.keyboard.press("Tab")
    await assert_visible_focus(staff)
    # Presence is set on the page, and the waiting clients hear it.
    await staff.get_by_label("Waiting clients see you as").select_option("late")
    await client.locator("#presence", has_text="running a little late").wait_for(timeout=5_000)

    # A reply from the waiting room reaches the clinician's row.
    await (
        staff.locator("#waiting-list li", has_text="Ana Client")
        .get_by_role("button", name="Message")
        .click()
    )
    await staff.get_by_label("Message", exact=True).fill("Two minutes")
    await (
        staff.locator("#waiting-list li", has_text="Ana Client")
        .get_by_role("button", name="Message")
        .click()
    )
    await client.locator("#messages li", has_text="Two minutes").wait_for(timeout=5_000)
    await client.get_by_label("Reply to your clinician").fill("Thanks, I'm ready")
    await client.get_by_role("button", name="Send reply").click()
    await client.locator("#messages li", has_text="You: Thanks, I'm ready").wait_for(timeout=5_000)
    await staff.locator("#waiting-list li", has_text="Thanks, I'm ready").wait_for(timeout=5_000)
    await assert_accessible(client, "waiting, with a conversation")

    # In the call: the session in progress is not offered as "Start".
    await (
        staff.locator("#waiting-list li", has_text="Ana Client")
        .get_by_role("button", name="Admit")
        .click()
    )
    for page in (client, staff):
        await page.evaluate(WATCH_FRAMES)
        await page.wait_for_function(FRAMES_FLOWING, timeout=20_000)
    await staff.locator("#upcoming li", has_text="in progress").wait_for(timeout=5_000)
    assert await staff.locator("#upcoming li button", has_text="Start").count() == 0
    await in_view(staff, "#waiting-list")
    await assert_accessible(staff, "the clinician's page in a call")
    SHOTS.mkdir(exist_ok=True)
    await staff.screenshot(path=str(SHOTS / "clinician-1280x800.png"))

    # A tablet: the call takes the full width (no letterboxed column).
    await staff.set_viewport_size({"width": 768, "height": 1024})
    wide = await box(staff, "#call")
    assert wide["width"] >= 700
    await no_overflow(staff)
    await staff.set_viewport_size({"width": 1280, "height": 800})

    # "End session" asks first; keeping it going changes nothing.
    await staff.locator("#end-session").click()
    await staff.get_by_role("dialog").wait_for(timeout=5_000)
    await assert_accessible(staff, "the end-session question")
    await staff.get_by_role("button", name="Keep it going").click()
    assert await staff.evaluate("() => window.tlhCall.sessionId") is not None
    await staff.locator("#end-session").click()
    await staff.get_by_role("button", name="End the session").click()
    await staff.locator(".call-empty", has_text="The session has ended.").wait_for(timeout=10_000)
    await client.get_by_role("heading", name="Your session has ended").wait_for(timeout=10_000)
    await assert_accessible(client, "the session ended")
    assert not [u for u in not_found if u.endswith("/favicon.ico")]
    assert staff.js_errors == []
    assert client.js_errors == []
