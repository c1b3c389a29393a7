"""The client page (/j) and the clinician page (/c) in Debian's headless Chromium.

Fake camera and microphone; the real server on a loopback port. The call tests need the
rooms, participant websocket, call-links and staff call websocket of the server side.
"""

from __future__ import annotations

from typing import Any

import pytest

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
)

pytestmark = [pytest.mark.timeout(120), needs_chromium]


async def _client_waiting_and_staff_page(server: LiveServer, browser: Any) -> tuple[Any, Any, Any]:
    """A client waiting on a phone and the clinician's call page showing them: the two
    pages and the staff page's "Admit" buttons."""
    link, clinician = await client_link(server)
    staff_link = await call_link(server, clinician)
    client = await new_page(browser, 360, 640)
    await pass_device_check(client, link)
    staff = await new_page(browser, 1280, 800)
    await open_call_page(staff, staff_link)
    admit = staff.locator("#waiting-list button", has_text="Admit")
    await admit.first.wait_for(timeout=15_000)
    return client, staff, admit


async def test_device_check_and_waiting_on_a_phone(live_server: LiveServer, browser: Any) -> None:
    link, _ = await client_link(live_server)
    page = await new_page(browser, 360, 640)
    await pass_device_check(page, link)
    SHOTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(SHOTS / "waiting-360x640.png"))
    await no_overflow(page)
    stored = await page.evaluate("() => [localStorage.getItem('tlh-device'), location.href]")
    assert len(stored[0]) == 32
    assert "#" not in stored[1]
    assert page.js_errors == []


async def test_device_check_shows_help_when_the_camera_is_blocked(
    live_server: LiveServer, browser: Any
) -> None:
    link, _ = await client_link(live_server)
    context = await browser.new_context(viewport={"width": 360, "height": 640})
    page = await context.new_page()
    # Deny as a browser would: every getUserMedia call fails with NotAllowedError.
    await page.add_init_script(
        "navigator.mediaDevices.getUserMedia = () => "
        "Promise.reject(new DOMException('blocked', 'NotAllowedError'));"
    )
    await page.goto(link)
    help_text = page.locator("#device-help")
    await help_text.wait_for(state="visible", timeout=10_000)
    assert "Allow" in (await help_text.text_content() or "")
    assert await page.get_by_role("button", name="Continue anyway").is_visible()
    SHOTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(SHOTS / "denied-360x640.png"))
    await no_overflow(page)


async def test_client_and_clinician_pages_call_each_other(
    live_server: LiveServer, browser: Any
) -> None:
    client, staff, admit = await _client_waiting_and_staff_page(live_server, browser)
    # A message to everyone waiting reaches the client's waiting room.
    await staff.get_by_label("Message").fill("Running 2 minutes late")
    await staff.get_by_role("button", name="Send to everyone waiting").click()
    await client.locator("#messages li", has_text="Running 2 minutes late").wait_for(timeout=5_000)
    assert "Dr. Lee" in (await client.locator("#waiting-text").text_content() or "")
    await admit.first.click()
    for page in (client, staff):
        await page.evaluate(WATCH_FRAMES)
    for page in (client, staff):
        await page.wait_for_function(FRAMES_FLOWING, timeout=20_000)
        states = await page.evaluate(
            "() => [...window.tlhCall.peers.values()].map((p) => p.pc.connectionState)"
        )
        assert states == ["connected"]
    # Today's appointments (in the practice's zone) are listed with a start button.
    await staff.locator("#upcoming li", has_text="50 min").wait_for(timeout=5_000)
    assert not await client.locator("#sound").is_visible()  # autoplay is allowed here
    SHOTS.mkdir(exist_ok=True)
    await client.screenshot(path=str(SHOTS / "call-360x640.png"))
    await staff.screenshot(path=str(SHOTS / "clinician-1280x800.png"))
    await no_overflow(client)

    # A reload of the client's page: it comes back into the call by itself.
    await staff.evaluate("() => { window.__frames = 0; }")
    await client.reload()
    await client.wait_for_function("() => window.tlhCall && window.tlhCall.me", timeout=15_000)
    await client.evaluate(WATCH_FRAMES)
    for page in (client, staff):
        await page.wait_for_function(FRAMES_FLOWING, timeout=20_000)

    # Sent back to the waiting room, then admitted again: the call comes back.
    await staff.locator("#in-session button", has_text="Send back").click()
    await client.get_by_role("heading", name="Waiting room").wait_for(timeout=10_000)
    await staff.locator("#waiting-list button", has_text="Admit").click()
    await client.evaluate("() => { window.__frames = 0; }")
    await client.wait_for_function(FRAMES_FLOWING, timeout=20_000)

    # The clinician ends the session (asked first): the client's page says so, with a
    # rejoin button; the clinician's stage says it ended, not "waiting for the others".
    await staff.locator("#end-session").click()
    await staff.get_by_role("button", name="End the session").click()
    await client.get_by_role("heading", name="Your session has ended").wait_for(timeout=10_000)
    await staff.get_by_text("The session has ended.").first.wait_for(timeout=5_000)
    assert await client.get_by_role("button", name="Rejoin").is_visible()
    assert client.js_errors == []
    assert staff.js_errors == []


async def test_the_clinician_page_locks_and_signs_out_when_idle(
    live_server: LiveServer, browser: Any
) -> None:
    _, clinician = await client_link(live_server)
    staff_link = await call_link(live_server, clinician)
    staff = await new_page(browser, 1280, 800)
    # The page's own clock, run forward: the policy's 15 idle minutes pass at once.
    await staff.clock.install()
    await open_call_page(staff, staff_link)
    await staff.get_by_text("Signed in as Dr. Lee").wait_for(timeout=10_000)
    await staff.locator("body[data-ready]").wait_for(state="attached", timeout=10_000)
    me = "async () => (await fetch('/api/v1/me')).status"
    assert await staff.evaluate(me) == 200
    assert not await staff.locator("#lock").is_visible()
    await staff.clock.run_for("14:00")
    assert not await staff.locator("#lock").is_visible()
    await staff.clock.run_for("01:10")
    await staff.locator("#lock").wait_for(timeout=5_000)
    assert "15 minutes" in (await staff.locator("#lock-text").text_content() or "")
    assert not await staff.locator("#desk").is_visible()
    await staff.wait_for_function(
        "async () => (await fetch('/api/v1/me')).status === 401", timeout=5_000
    )


async def test_a_guest_invited_during_a_session_joins_that_session(
    live_server: LiveServer, browser: Any
) -> None:
    """An interpreter or a family member invited from the call page's "Invite others"
    joins the visit in progress: all three see and hear each other (issue 18)."""
    client, staff, admit = await _client_waiting_and_staff_page(live_server, browser)
    await admit.first.click()
    await client.wait_for_function("() => window.tlhCall && window.tlhCall.me", timeout=15_000)
    await staff.get_by_role("button", name="Invite others").click()
    await staff.wait_for_function(
        "() => document.querySelector('#invite-url').textContent.includes('/j#')",
        timeout=10_000,
    )
    guest_url = (await staff.locator("#invite-url").text_content() or "").strip()
    guest = await new_page(browser, 768, 1024)
    await pass_device_check(guest, guest_url)
    await admit.first.wait_for(timeout=15_000)
    await admit.first.click()
    for page in (client, staff, guest):
        await page.wait_for_function(
            "() => window.tlhCall && window.tlhCall.peers.size === 2", timeout=20_000
        )
        await page.evaluate(WATCH_FRAMES)
    every_peer_connected = (
        "() => [...window.tlhCall.peers.values()]"
        ".every((p) => p.pc.connectionState === 'connected')"
    )
    for page in (client, staff, guest):
        await page.wait_for_function(every_peer_connected, timeout=20_000)
        await page.wait_for_function(FRAMES_FLOWING, timeout=20_000)
    # One session: the client's (the guest did not start a second one).
    sessions = [await p.evaluate("() => window.tlhCall.sessionId") for p in (client, guest)]
    assert sessions[0] == sessions[1]
    for page in (client, staff, guest):
        assert page.js_errors == []
