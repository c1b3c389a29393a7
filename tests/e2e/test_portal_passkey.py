"""Passkeys on the portal page in Chromium at 360x640 (issue 13), with a CDP virtual
authenticator (ctap2, internal, resident keys, user verification): sign in with the code
read from the mail drop, add a passkey, sign out, open the portal again and reach Join
in at most two taps; a cancelled passkey request and the passkey list, keyboard operable;
axe-core on each passkey state.

WebAuthn binds a passkey to a host name, never an IP address: the server here is reached
as http://localhost (a secure context) and that is its public URL, the relying party.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tlh.messaging.config import MessagingConfig
from tlh.messaging.file_transport import mail_drop_dir
from tlh.server.run import start
from tlh.server.settings import Settings
from tlh.services.bootstrap import init_practice

from .a11y import assert_accessible, assert_visible_focus
from .browser import SHOTS, LiveServer, free_port, needs_chromium, new_page, no_overflow
from .test_portal_page import _code_from_mail_drop, _practice_with_a_visit

pytestmark = [pytest.mark.timeout(120), needs_chromium]
NO_AUTOFILL = "PublicKeyCredential.isConditionalMediationAvailable = async () => false;"


@pytest.fixture
async def localhost_server(tmp_path: Path) -> AsyncIterator[LiveServer]:
    """The practice served on loopback, its public URL http://localhost:PORT."""
    data = tmp_path / "data"
    token = await init_practice(data, "Harbour Counselling", "America/New_York", "a@example.org")
    port = free_port()
    url = f"http://localhost:{port}"
    runner = await start(
        Settings(data_dir=data, port=port, messaging=MessagingConfig(public_url=url))
    )
    try:
        yield LiveServer(url, token, data)
    finally:
        await runner.cleanup()


async def _authenticator(page: Any) -> tuple[Any, str]:
    """A virtual platform authenticator on ``page``: the CDP session and its id."""
    cdp = await page.context.new_cdp_session(page)
    await cdp.send("WebAuthn.enable", {"enableUI": False})
    made = await cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )
    return cdp, str(made["authenticatorId"])


async def _signed_in_with_a_code(page: Any, server: LiveServer) -> None:
    drop = mail_drop_dir(server.data_dir)
    await page.locator("#address").fill("ana@example.org")
    await page.get_by_role("button", name="Send me a code").click()
    await page.get_by_role("heading", name="Enter your code").wait_for(timeout=10_000)
    await page.locator("#code-input").fill(await _code_from_mail_drop(drop, {}))
    await page.get_by_role("button", name="Sign in", exact=True).click()
    await page.get_by_role("heading", name="Your appointments").wait_for(timeout=10_000)


async def test_add_a_passkey_then_two_taps_from_opening_the_portal_to_join(
    localhost_server: LiveServer, browser: Any
) -> None:
    server = localhost_server
    await _practice_with_a_visit(server, datetime.now(UTC) + timedelta(minutes=5))
    page = await new_page(browser, 360, 640)
    # A browser without passkeys in autofill (conditional UI): the button is the way in.
    # (Chromium's virtual authenticator answers an autofill request at once, as no
    # person would: the autofill path has its own test below.)
    await page.add_init_script(NO_AUTOFILL)
    cdp, authenticator = await _authenticator(page)
    await page.goto(f"{server.url}/p")
    await page.get_by_role("heading", name="Sign in").wait_for(timeout=10_000)
    assert await page.get_by_role("button", name="Sign in with a passkey").is_visible()
    await assert_accessible(page, "portal sign-in with passkey")

    # After a code sign-in the portal offers a passkey.
    await _signed_in_with_a_code(page, server)
    offer = page.locator("#passkey-offer")
    await offer.wait_for(timeout=10_000)
    assert "Sign in with one tap next time" in (await offer.text_content() or "")
    await assert_accessible(page, "portal passkey offer")
    await no_overflow(page)
    SHOTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(SHOTS / "portal-passkey-offer-360x640.png"), full_page=True)
    # Keyboard: Tab to the offer's button, Enter.
    for _ in range(30):
        await page.keyboard.press("Tab")
        if await page.evaluate("() => document.activeElement.id") == "passkey-add":
            break
    await assert_visible_focus(page)
    await page.keyboard.press("Enter")
    await page.locator("#passkey-status").filter(has_text="Passkey added").wait_for(timeout=10_000)
    assert await offer.is_hidden()
    held = await cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})
    [credential] = held["credentials"]
    assert credential["isResidentCredential"]
    # The authenticator holds no name: the handle is random, the label neutral. (Only
    # the readable fields are compared: a key's base64 may hold any three letters.)
    assert {credential["userName"], credential["userDisplayName"]} == {"Client portal"}
    await page.locator("#passkey-manage summary").click()
    assert "Passkey 1: added" in (await page.locator("#passkey-list").text_content() or "")
    await assert_accessible(page, "portal passkey added and listed")

    await page.get_by_role("button", name="Sign out", exact=True).click()
    await page.get_by_role("heading", name="Sign in").wait_for(timeout=10_000)

    # A cancelled request (the person could not be verified) says so, in a line.
    await cdp.send(
        "WebAuthn.setUserVerified", {"authenticatorId": authenticator, "isUserVerified": False}
    )
    await page.get_by_role("button", name="Sign in with a passkey").click()
    failed = page.locator("#passkey-signin-error")
    await failed.wait_for(timeout=15_000)
    assert "cancelled" in (await failed.text_content() or "")
    await assert_accessible(page, "portal passkey cancelled")
    await cdp.send(
        "WebAuthn.setUserVerified", {"authenticatorId": authenticator, "isUserVerified": True}
    )

    # Opening the portal with a passkey: count every tap until Join.
    taps = 0

    async def tap(target: Any) -> None:
        nonlocal taps
        taps += 1
        await target.click()

    await page.goto(f"{server.url}/p")
    await page.get_by_role("heading", name="Sign in").wait_for(timeout=10_000)
    await tap(page.get_by_role("button", name="Sign in with a passkey"))
    await page.get_by_role("heading", name="Your appointments").wait_for(timeout=10_000)
    join = page.locator("#appointments li").first.get_by_role("button", name="Join")
    await join.wait_for(timeout=10_000)
    assert await join.is_enabled()
    assert await offer.is_hidden()  # they have a passkey and used it: no offer
    await assert_accessible(page, "portal signed in with a passkey")
    await tap(join)
    await page.get_by_role("heading", name="Check your camera and microphone").wait_for(
        timeout=10_000
    )
    print(f"taps from opening the portal with a passkey to Join: {taps}")
    assert taps <= 2
    assert page.js_errors == []


async def test_a_passkey_from_the_address_fields_autofill_signs_in(
    localhost_server: LiveServer, browser: Any
) -> None:
    """Where the browser offers passkeys in the address field's autofill, the page asks
    for one as soon as it shows the sign-in (and lets go of that request when a code
    signs in or a passkey is added)."""
    server = localhost_server
    await _practice_with_a_visit(server, datetime.now(UTC) + timedelta(minutes=5))
    first = await new_page(browser, 360, 640)
    cdp, authenticator = await _authenticator(first)
    await first.goto(f"{server.url}/p")
    await first.get_by_role("heading", name="Sign in").wait_for(timeout=10_000)
    assert await first.locator("#address").get_attribute("autocomplete") == "username webauthn"
    await _signed_in_with_a_code(first, server)
    await first.get_by_role("button", name="Not now").click()
    assert await first.locator("#passkey-offer").is_hidden()
    await first.locator("#passkey-manage summary").click()
    await first.get_by_role("button", name="Add a passkey on this device").click()
    await first.locator("#passkey-status").filter(has_text="Passkey added").wait_for(timeout=10_000)
    held = await cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})
    [credential] = held["credentials"]
    assert first.js_errors == []

    # The same passkey on a device opening the portal afresh (no cookie).
    page = await new_page(browser, 360, 640)
    other, other_id = await _authenticator(page)
    await other.send(
        "WebAuthn.addCredential", {"authenticatorId": other_id, "credential": credential}
    )
    await page.goto(f"{server.url}/p")
    await page.get_by_role("heading", name="Your appointments").wait_for(timeout=15_000)
    join = page.locator("#appointments li").first.get_by_role("button", name="Join")
    await join.wait_for(timeout=10_000)
    assert await join.is_enabled()

    # Removing it: gone from the list (the server then refuses it: tests/server).
    await page.locator("#passkey-manage summary").click()
    await page.get_by_role("button", name=re.compile(r"^Remove passkey 1, added ")).click()
    await (
        page.locator("#passkey-status").filter(has_text="Passkey removed").wait_for(timeout=10_000)
    )
    assert await page.locator("#passkey-list li").count() == 0
    await assert_accessible(page, "portal passkey removed")
    assert page.js_errors == []
