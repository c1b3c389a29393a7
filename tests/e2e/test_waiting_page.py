"""The client page's waiting room and its reactions to the participant websocket.

The page and the link are real (the real server redeems the link); the websocket is
played by the test through Playwright's ``route_web_socket``, so each server frame of
docs/API.md can be sent exactly when the test wants it.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from .browser import (
    SHOTS,
    LiveServer,
    client_link,
    needs_chromium,
    new_page,
    no_overflow,
    pass_device_check,
)

pytestmark = [pytest.mark.timeout(90), needs_chromium]


#: What a status frame says unless a test says otherwise.
STATUS: dict[str, Any] = {
    "entry_id": "ent_1",
    "clinician_name": "Dr. Lee",
    "presence": "online",
    "second_device": False,
}


class FakeRoom:
    """Plays the server's side of /api/v1/link/ws; keeps what the page sent."""

    def __init__(self) -> None:
        self.received: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.socket: Any = None
        self.connections = 0

    def accept(self, ws: Any) -> None:
        self.socket = ws
        self.connections += 1
        ws.on_message(lambda message: self.received.put_nowait(json.loads(message)))

    async def next(self, kind: str) -> dict[str, Any]:
        async with asyncio.timeout(10):
            while True:
                frame = await self.received.get()
                if frame["type"] == kind:
                    return frame

    def send(self, **frame: Any) -> None:
        self.socket.send(json.dumps(frame))

    def status(self, state: str, **fields: Any) -> None:
        """A ``status`` frame: ``STATUS`` unless ``fields`` say otherwise."""
        self.send(type="status", state=state, **(STATUS | fields))


async def _waiting_page(server: LiveServer, browser: Any) -> tuple[Any, FakeRoom]:
    link, _ = await client_link(server)
    page = await new_page(browser, 360, 640)
    room = FakeRoom()
    await page.route_web_socket("**/api/v1/link/ws", room.accept)
    await pass_device_check(page, link)
    return page, room


async def test_the_waiting_room_shows_status_countdown_place_and_messages(
    live_server: LiveServer, browser: Any
) -> None:
    page, room = await _waiting_page(live_server, browser)
    hello = await room.next("hello")
    assert len(hello["device_id"]) == 32
    assert "display_name" not in hello  # clients are named by staff, not by the page
    check = await room.next("device_check")
    assert (check["camera"], check["microphone"]) == ("ok", "ok")
    opens = (datetime.now(UTC) + timedelta(minutes=3)).isoformat()
    room.status("waiting", presence="late", opens_at=opens, position=2, expected_wait_min=10)
    await page.get_by_text("You are early").wait_for(timeout=5_000)
    assert await page.locator("#countdown").is_visible()
    assert (await page.locator("#countdown").text_content() or "").startswith("Opens in 2:")
    place = await page.locator("#place").text_content()
    assert place == "You are number 2 in line. Expected wait: about 10 minutes."
    assert await page.locator("#presence").text_content() == "Dr. Lee is running a little late."
    room.send(type="message", text="Running 5 minutes late", at=datetime.now(UTC).isoformat())
    await page.locator("#messages li", has_text="Running 5 minutes late").wait_for(timeout=5_000)
    await page.screenshot(path=str(SHOTS / "waiting-status-360x640.png"))
    await no_overflow(page)

    room.status("waiting", position=1)
    await page.get_by_text("Dr. Lee will let you in shortly.").wait_for(timeout=5_000)
    assert not await page.locator("#countdown").is_visible()
    assert await page.locator("#place").text_content() == "You are next in line."

    # The session ends; Rejoin opens a fresh socket that says hello again.
    room.send(type="ended")
    await page.get_by_role("heading", name="Your session has ended").wait_for(timeout=5_000)
    await page.get_by_role("button", name="Rejoin").click()
    again = await room.next("hello")
    assert again["device_id"] == hello["device_id"]
    assert room.connections == 2
    assert page.js_errors == []


@pytest.mark.parametrize(
    ("state", "heading", "says"),
    [
        ("denied", "You were not let in", ("contact your practice",)),
        # The link was revoked while they waited (a cancel, a reschedule, an admin).
        ("revoked", "Your appointment changed", ("changed or cancelled", "message from your")),
    ],
)
async def test_a_client_sent_away_is_told_why(
    live_server: LiveServer, browser: Any, state: str, heading: str, says: tuple[str, ...]
) -> None:
    page, room = await _waiting_page(live_server, browser)
    await room.next("hello")
    room.status(state)
    await page.get_by_role("heading", name=heading).wait_for(timeout=5_000)
    text = await page.locator("#problem-text").text_content() or ""
    for words in says:
        assert words in text
    assert page.js_errors == []


async def test_the_clinicians_words_stay_on_screen_when_a_client_is_sent_away(
    live_server: LiveServer, browser: Any
) -> None:
    page, room = await _waiting_page(live_server, browser)
    await room.next("hello")
    room.status("denied", message="Please book an in-person visit instead.")
    await page.get_by_role("heading", name="You were not let in").wait_for(timeout=5_000)
    words = page.get_by_text("Message from your clinician: Please book an in-person visit")
    await words.wait_for(timeout=5_000)
    await room.socket.close()  # as the server does after sending someone away
    # Nothing replaces it afterwards (the socket's close handler once did).
    await page.wait_for_timeout(2_000)
    assert await words.is_visible()
    assert page.js_errors == []


async def test_a_second_device_is_told_it_needs_approval(
    live_server: LiveServer, browser: Any
) -> None:
    page, room = await _waiting_page(live_server, browser)
    await room.next("hello")
    room.status("waiting", entry_id="ent_2", second_device=True)
    await page.get_by_text("already open on another device").wait_for(timeout=5_000)


async def test_the_identity_step_asks_for_the_date_of_birth_first(
    live_server: LiveServer, browser: Any
) -> None:
    # The link state and the check are played by the test: what the page does with them
    # is what is tested here (the server's side has its own tests).
    link, _ = await client_link(live_server)
    page = await new_page(browser, 360, 640)
    tries: list[dict[str, Any]] = []
    state = {"next": "identity", "identity": "dob", "practice_name": "Harbour Counselling"}

    async def link_state(route: Any) -> None:
        await route.fulfill(json=state if len(tries) < 2 else {**state, "next": "waiting"})

    async def identity(route: Any) -> None:
        tries.append(json.loads(route.request.post_data or "{}"))
        if len(tries) == 1:
            error = {"code": "identity_failed", "message": "that does not match"}
            await route.fulfill(status=403, json={"error": error})
        else:
            await route.fulfill(status=204, body="")

    await page.route("**/api/v1/link/state", link_state)
    await page.route("**/api/v1/link/identity", identity)
    await page.goto(link)
    await page.get_by_role("heading", name="Please confirm who you are").wait_for(timeout=10_000)
    await page.get_by_label("Your date of birth").fill("1990-02-03")
    await page.get_by_role("button", name="Continue").click()
    await page.get_by_text("That does not match our records").wait_for(timeout=5_000)
    await page.screenshot(path=str(SHOTS / "identity-360x640.png"))
    await no_overflow(page)
    await page.get_by_label("Your date of birth").fill("1990-03-02")
    await page.get_by_role("button", name="Continue").click()
    await page.get_by_role("heading", name="Check your camera and microphone").wait_for(
        timeout=10_000
    )
    assert tries == [{"dob": "1990-02-03"}, {"dob": "1990-03-02"}]
