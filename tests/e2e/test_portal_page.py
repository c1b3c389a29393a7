"""The client portal page in Chromium at 360x640 (issue 13): sign in with the code read
from the outbox's mail drop, see the upcoming session, the notice appearing on its own
under a moved clock, Join from it through the device check into the waiting room;
axe-core on every state, keyboard only for the sign-in."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tlh.messaging.file_transport import mail_drop_dir

from .a11y import assert_accessible, assert_visible_focus
from .browser import SHOTS, LiveServer, needs_chromium, new_page, no_overflow, post_json

pytestmark = [pytest.mark.timeout(120), needs_chromium]


async def _practice_with_a_visit(server: LiveServer, start: datetime) -> str:
    """Dr. Lee, Ana (consent on file) and a confirmed video visit at ``start``; the join
    window opens 15 minutes before (so the server lets Join through while the page's
    moved clock reaches the 10-minute notice). Returns the appointment's id."""
    async with aiohttp.ClientSession(headers=server.auth) as http:
        url = server.url
        status, _ = await post_json(
            http,
            f"{url}/api/v1/staff",
            {
                "email": "lee@example.org",
                "name": "Dr. Lee",
                "role": "clinician",
                "telehealth": True,
            },
        )
        assert status == 201
        async with http.patch(
            f"{url}/api/v1/practice", json={"window_opens_before_min": 15}
        ) as answer:
            assert answer.status == 200
        status, client = await post_json(
            http, f"{url}/api/v1/clients", {"name": "Ana Client", "email": "ana@example.org"}
        )
        assert status == 201
        status, _ = await post_json(
            http, f"{url}/api/v1/consents/verbal", {"client_id": client["id"], "note": "read aloud"}
        )
        assert status == 201
        status, made = await post_json(
            http,
            f"{url}/api/v1/appointments?notify=0",
            {
                "client_ids": [client["id"]],
                "clinicians": ["lee@example.org"],
                "start": start.isoformat(),
                "duration_min": 50,
                "modality": "telehealth",
                "status": "confirmed",
            },
        )
        assert status == 201, made
    return str(made["items"][0]["id"])


async def _portal_page(browser: Any) -> Any:
    """A 360x640 page whose browser runs in UTC (the practice is in New York), with the
    camera granted and its script errors kept (as ``new_page``)."""
    context = await browser.new_context(viewport={"width": 360, "height": 640}, timezone_id="UTC")
    await context.grant_permissions(["camera", "microphone"])
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.js_errors = errors
    return page


def _plain(raw: bytes) -> str:
    """The plain-text part of an email file."""
    body = message_from_bytes(raw, policy=policy.default).get_body(("plain",))
    assert body is not None
    return str(body.get_content())


def _codes(drop: Path) -> dict[str, str]:
    """Sign-in codes in the mail drop, by file name."""
    found: dict[str, str] = {}
    for path in drop.glob("*.eml") if drop.exists() else []:
        mail = message_from_bytes(path.read_bytes(), policy=policy.default)
        if "sign-in code" in str(mail["Subject"]):
            code = re.search(r"\b(\d{6})\b", _plain(path.read_bytes()))
            if code:
                found[path.name] = code.group(1)
    return found


async def _code_from_mail_drop(drop: Path, known: dict[str, str]) -> str:
    """The code of the next sign-in message the file transport writes."""
    async with asyncio.timeout(10):
        while True:
            fresh = {k: v for k, v in _codes(drop).items() if k not in known}
            if fresh:
                return next(iter(fresh.values()))
            await asyncio.sleep(0.05)  # a file appearing: polled, bounded by the timeout


async def test_sign_in_see_the_notice_and_join_into_the_waiting_room(
    live_server: LiveServer, browser: Any
) -> None:
    start = datetime.now(UTC) + timedelta(minutes=12)
    await _practice_with_a_visit(live_server, start)
    drop = mail_drop_dir(live_server.data_dir)
    page = await _portal_page(browser)
    await page.clock.install()
    await page.goto(f"{live_server.url}/p")
    await page.get_by_role("heading", name="Sign in").wait_for(timeout=10_000)
    await assert_accessible(page, "portal sign-in")
    await no_overflow(page)

    # Keyboard only: Tab to the address, type, Enter.
    await page.keyboard.press("Tab")
    while await page.evaluate("() => document.activeElement.id") != "address":
        await page.keyboard.press("Tab")
    await assert_visible_focus(page)
    await page.keyboard.type("ana@example.org")
    await page.keyboard.press("Enter")
    await page.get_by_role("heading", name="Enter your code").wait_for(timeout=10_000)
    await assert_accessible(page, "portal code")
    code = await _code_from_mail_drop(drop, {})
    wrong = "000000" if code != "000000" else "111111"
    await page.locator("#code-input").fill(wrong)
    await page.keyboard.press("Enter")
    await page.locator("#code-error").wait_for(timeout=5_000)
    assert "does not match" in (await page.locator("#code-error").text_content() or "")
    await assert_accessible(page, "portal wrong code")
    await page.locator("#code-input").fill(code)
    await page.keyboard.press("Enter")

    await page.get_by_role("heading", name="Your appointments").wait_for(timeout=10_000)
    card = page.locator("#appointments li").first
    await card.wait_for(timeout=5_000)
    text = await card.text_content() or ""
    assert "With Dr. Lee" in text
    assert "Video (telehealth)" in text
    assert "Confirmed" in text
    # The browser runs in UTC, the practice in New York: both times, the practice's named.
    assert "practice time (America/New_York)" in text
    assert await card.get_by_role("button", name="Join").is_enabled()
    assert not await page.locator("#notice").is_visible()
    await assert_accessible(page, "portal home")
    await no_overflow(page)
    SHOTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(SHOTS / "portal-home-360x640.png"))

    # Three minutes on the page's clock: 9 minutes to the start, the notice shows itself.
    await page.clock.run_for("03:00")
    notice = page.locator("#notice")
    await notice.wait_for(timeout=5_000)
    said = await page.locator("#notice-text").text_content() or ""
    assert re.fullmatch(r"Your session with Dr\. Lee starts in (9|10) minutes\.", said), said
    await assert_accessible(page, "portal notice")
    await page.screenshot(path=str(SHOTS / "portal-notice-360x640.png"))

    await page.locator("#notice-join").click()
    await page.get_by_role("heading", name="Check your camera and microphone").wait_for(
        timeout=10_000
    )
    assert "#" not in page.url  # the join token left the address bar
    await page.wait_for_function(
        "() => document.getElementById('device-preview').videoWidth > 0", timeout=10_000
    )
    await page.get_by_role("button", name="Continue", exact=True).click()
    await page.get_by_role("heading", name="Waiting room").wait_for(timeout=10_000)
    assert page.js_errors == []


async def test_signed_out_everywhere_and_an_unknown_address_reads_the_same(
    live_server: LiveServer, browser: Any
) -> None:
    await _practice_with_a_visit(live_server, datetime.now(UTC) + timedelta(days=2))
    drop = mail_drop_dir(live_server.data_dir)
    page = await new_page(browser, 360, 640)
    await page.goto(f"{live_server.url}/p")
    await page.locator("#address").fill("stranger@example.org")
    await page.get_by_role("button", name="Send me a code").click()
    await page.get_by_role("heading", name="Enter your code").wait_for(timeout=10_000)
    unknown = await page.locator("#code-sent").text_content()
    await page.get_by_role("button", name="Use another address").click()
    await page.locator("#address").fill("ana@example.org")
    await page.get_by_role("button", name="Send me a code").click()
    await page.get_by_role("heading", name="Enter your code").wait_for(timeout=10_000)
    assert await page.locator("#code-sent").text_content() == unknown
    await page.locator("#code-input").fill(await _code_from_mail_drop(drop, {}))
    await page.get_by_role("button", name="Sign in").click()
    await page.get_by_role("heading", name="Your appointments").wait_for(timeout=10_000)
    card = page.locator("#appointments li").first
    await card.wait_for(timeout=5_000)
    assert not await card.get_by_role("button", name="Join").is_enabled()
    assert "Join opens at" in (await card.text_content() or "")
    await page.get_by_role("button", name="Sign out everywhere").click()
    await page.get_by_role("heading", name="Sign in").wait_for(timeout=10_000)
    assert "every device" in (await page.locator("#signin-note").text_content() or "")
    await assert_accessible(page, "portal signed out")
    status = await page.evaluate("async () => (await fetch('/api/v1/portal/me')).status")
    assert status == 401
    assert page.js_errors == []


async def test_portal_required_an_emailed_link_signs_in_first_then_joins(
    live_server: LiveServer, browser: Any
) -> None:
    appt_id = await _practice_with_a_visit(live_server, datetime.now(UTC) + timedelta(minutes=5))
    drop = mail_drop_dir(live_server.data_dir)
    async with aiohttp.ClientSession(headers=live_server.auth) as http:
        url = live_server.url
        async with http.patch(f"{url}/api/v1/practice", json={"portal_required": True}) as r:
            assert r.status == 200
        status, sent = await post_json(http, f"{url}/api/v1/invites", {"appointment_id": appt_id})
        assert status == 201, sent
    invitation = drop / f"{sent['messages'][0]['id']}.eml"
    async with asyncio.timeout(10):
        while not invitation.exists():
            await asyncio.sleep(0.05)  # the outbox worker writes it; bounded
    text = _plain(invitation.read_bytes())
    link = re.search(r"(http\S+/j#[A-Za-z0-9_-]+)", text)
    assert link

    page = await new_page(browser, 360, 640)
    await page.goto(link.group(1))
    await page.get_by_role("heading", name="Sign in").wait_for(timeout=10_000)
    assert page.url == f"{live_server.url}/p"  # no token, no appointment id left in it
    note = await page.locator("#signin-note").text_content() or ""
    assert "sign in before you join" in note
    await page.locator("#address").fill("ana@example.org")
    await page.get_by_role("button", name="Send me a code").click()
    await page.get_by_role("heading", name="Enter your code").wait_for(timeout=10_000)
    await page.locator("#code-input").fill(await _code_from_mail_drop(drop, {}))
    await page.get_by_role("button", name="Sign in").click()
    # Signed in, the portal goes on to that appointment's join: the device check.
    await page.get_by_role("heading", name="Check your camera and microphone").wait_for(
        timeout=10_000
    )
    assert "#" not in page.url
    assert page.js_errors == []
