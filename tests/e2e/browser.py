"""Shared Playwright fixtures: Debian's Chromium with fake camera/mic, and a live server.

Never ``playwright install``: the browser is Debian's ``/usr/bin/chromium`` (``make test``
installs it); without it these tests skip with that reason.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.serving import free_port
from tlh.server.run import start
from tlh.server.settings import Settings
from tlh.services.bootstrap import init_practice

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--allow-loopback-in-peer-connection",
    # Remote audio plays without a click in the test (a person has clicked by then).
    "--autoplay-policy=no-user-gesture-required",
]
SHOTS = Path("/tmp/tlh-shots")  # screenshots to look at; never in the repo
# Counts video frames decoded from connected peers, so a test can wait on a condition
# (page.wait_for_function) instead of sleeping.
WATCH_FRAMES = """() => {
  window.__frames = 0;
  window.__watch = setInterval(async () => {
    let best = 0;
    for (const peer of window.tlhCall.peers.values()) {
      if (peer.pc.connectionState !== "connected") continue;
      const stats = await peer.pc.getStats();
      stats.forEach((s) => {
        if (s.type === "inbound-rtp" && s.kind === "video") best = Math.max(best, s.framesDecoded || 0);
      });
    }
    window.__frames = best;
  }, 200);
}"""
FRAMES_FLOWING = "() => window.__frames > 0"


needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="Debian's chromium is not installed (apt-get install chromium)"
)


@dataclass
class LiveServer:
    """The real app on a free loopback port, and the admin's API token."""

    url: str
    token: str
    data_dir: Path

    @property
    def auth(self) -> dict[str, str]:
        """The admin's Authorization header."""
        return {"Authorization": f"Bearer {self.token}"}


@pytest.fixture
async def live_server(tmp_path: Path) -> AsyncIterator[LiveServer]:
    """A practice on a throw-away data dir, served on 127.0.0.1."""
    data = tmp_path / "data"
    token = await init_practice(data, "Harbour Counselling", "America/New_York", "a@example.org")
    port = free_port()
    runner = await start(Settings(data_dir=data, port=port))
    try:
        yield LiveServer(f"http://127.0.0.1:{port}", token, data)
    finally:
        await runner.cleanup()


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    """One headless Chromium for the test; each page gets its own context."""
    playwright_api = pytest.importorskip("playwright.async_api")
    async with playwright_api.async_playwright() as pw:
        instance = await pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield instance
        finally:
            await instance.close()


@pytest.fixture
async def three_cameras() -> AsyncIterator[Any]:
    """Headless Chromium with three fake cameras besides its three fake microphones, for
    the device pickers: fake_device_0 (I420, as usual), fake_device_1 (a Y16 depth camera,
    whose frames a call does not carry: not used) and fake_device_2 (MJPEG, as a USB
    webcam)."""
    playwright_api = pytest.importorskip("playwright.async_api")
    args = [
        "--use-fake-device-for-media-stream=device-count=3"
        if a == "--use-fake-device-for-media-stream"
        else a
        for a in CHROMIUM_ARGS
    ]
    async with playwright_api.async_playwright() as pw:
        instance = await pw.chromium.launch(executable_path=str(CHROMIUM), args=args)
        try:
            yield instance
        finally:
            await instance.close()


async def new_page(browser: Any, width: int = 1024, height: int = 768) -> Any:
    """A page in a fresh context (its own cookies and storage), camera/mic granted."""
    context = await browser.new_context(viewport={"width": width, "height": height})
    await context.grant_permissions(["camera", "microphone"])
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.js_errors = errors
    return page


async def no_overflow(page: Any) -> None:
    """Nothing sticks out sideways (a phone would scroll horizontally)."""
    wide = await page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert wide <= 0, f"the page overflows sideways by {wide}px"


async def post_json(http: aiohttp.ClientSession, url: str, body: dict[str, Any]) -> Any:
    """POST JSON; the status and the decoded answer."""
    async with http.post(url, json=body) as response:
        return response.status, await response.json(content_type=None)


async def client_link(server: LiveServer) -> tuple[str, str]:
    """A clinician, a client with consent, an appointment now: the client's link, and
    ``"clinician-token|appointment-id"``."""
    async with aiohttp.ClientSession(headers=server.auth) as http:
        status, made = await post_json(
            http,
            f"{server.url}/api/v1/staff",
            {
                "email": "lee@example.org",
                "name": "Dr. Lee",
                "role": "clinician",
                "telehealth": True,
            },
        )
        assert status == 201, made
        clinician_token = made["token"]
        _, appointment_id, token = await _consented_visit(
            http, server, "Ana Client", "ana@example.org", datetime.now(UTC)
        )
    return f"{server.url}/j#{token}", f"{clinician_token}|{appointment_id}"


async def call_link(server: LiveServer, clinician: str) -> str:
    """A one-time login link to the clinician's call page, for their appointment
    (``clinician`` as :func:`client_link` answers it)."""
    token, appointment_id = clinician.split("|")
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"}) as http:
        status, made = await post_json(
            http, f"{server.url}/api/v1/call-links", {"appointment_id": appointment_id}
        )
    assert status == 201, made
    return f"{server.url}/c#{made['url'].rsplit('#', 1)[1]}"


async def client_appointment_link(
    server: LiveServer, name: str, email: str, start: datetime
) -> tuple[str, str]:
    """A client with consent and a telehealth appointment with Dr. Lee: their link."""
    async with aiohttp.ClientSession(headers=server.auth) as http:
        client_id, _, token = await _consented_visit(http, server, name, email, start)
    return f"{server.url}/j#{token}", client_id


async def _consented_visit(
    http: aiohttp.ClientSession, server: LiveServer, name: str, email: str, start: datetime
) -> tuple[str, str, str]:
    """A client with verbal consent, a confirmed telehealth appointment with Dr. Lee at
    ``start`` and its join link: the client's id, the appointment's id, the link's token."""
    status, client = await post_json(
        http, f"{server.url}/api/v1/clients", {"name": name, "email": email}
    )
    assert status == 201, client
    status, _ = await post_json(
        http,
        f"{server.url}/api/v1/consents/verbal",
        {"client_id": client["id"], "note": "read aloud"},
    )
    assert status == 201
    status, appts = await post_json(
        http,
        f"{server.url}/api/v1/appointments",
        {
            "client_ids": [client["id"]],
            "clinicians": ["lee@example.org"],
            "start": start.isoformat(),
            "duration_min": 50,
            "modality": "telehealth",
            "status": "confirmed",
        },
    )
    assert status == 201, appts
    appointment_id = appts["items"][0]["id"]
    status, link = await post_json(
        http, f"{server.url}/api/v1/invites/link", {"appointment_id": appointment_id}
    )
    assert status == 201, link
    return client["id"], appointment_id, link["url"].rsplit("#", 1)[1]


async def pass_device_check(page: Any, link: str) -> None:
    """Open the client link, check the fake devices work, continue to the waiting room."""
    await page.goto(link)
    await page.get_by_role("heading", name="Check your camera and microphone").wait_for(
        timeout=10_000
    )
    assert "#" not in page.url  # the token left the address bar
    # The fake camera plays in the preview, and the meter is fed by the fake microphone.
    await page.wait_for_function(
        "() => document.getElementById('device-preview').videoWidth > 0", timeout=10_000
    )
    await page.wait_for_function(
        "() => document.getElementById('mic-level').value > 0", timeout=10_000
    )
    assert "working" in (await page.locator("#device-status").text_content() or "")
    SHOTS.mkdir(exist_ok=True)
    size = page.viewport_size
    await page.screenshot(path=str(SHOTS / f"device-{size['width']}x{size['height']}.png"))
    await no_overflow(page)
    await page.get_by_role("button", name="Continue", exact=True).click()
    await page.get_by_role("heading", name="Waiting room").wait_for(timeout=10_000)


async def open_call_page(page: Any, url: str) -> None:
    """Open the clinician's call page from its login link, see the camera in the device
    check, and continue to the call page."""
    await page.goto(url)
    await page.get_by_role("heading", name="Check your camera and microphone").wait_for(
        timeout=10_000
    )
    await page.wait_for_function(
        "() => document.getElementById('device-preview').videoWidth > 0", timeout=10_000
    )
    await page.get_by_role("button", name="Continue", exact=True).click()
    await page.locator("#desk").wait_for(timeout=10_000)
