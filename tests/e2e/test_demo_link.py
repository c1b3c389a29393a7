"""`tlh demo` prints a client link that opens the consent page (issue 3's "done when").

The demo runs as a real process; the link it prints is opened in Debian's headless
Chromium on a phone-sized page.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.serving import free_port

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]
#: The consent form's link, alone on the line after its title (nothing to trim when copied).
LINK = re.compile(r"consent form:\n\s+(http://127\.0\.0\.1:\d+/j#[A-Za-z0-9_-]{40,})\n")
SHOT = Path("/tmp/tlh-demo-consent-360x640.png")

pytestmark = [
    pytest.mark.timeout(90),
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed"),
]


@pytest.fixture
async def demo_link() -> AsyncIterator[str]:
    """Start `tlh demo` and return the consent link it prints; stop it afterwards."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tlh", "demo", "--port", str(free_port()),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "TLH_CONFIG": os.devnull},
    )  # fmt: skip
    assert proc.stdout is not None
    printed: list[str] = []
    try:
        async with asyncio.timeout(30):
            while not (found := LINK.search("\n".join(printed))):
                line = await proc.stdout.readline()
                assert line, f"tlh demo exited: {(await proc.communicate())[1].decode()[-500:]}"
                printed.append(line.decode())
        yield found.group(1)
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGINT)
            try:
                async with asyncio.timeout(20):
                    await proc.communicate()
            except TimeoutError:
                proc.kill()
                await proc.wait()


async def test_the_demo_link_opens_the_consent_page(demo_link: str) -> None:
    playwright_api = pytest.importorskip("playwright.async_api")
    async with playwright_api.async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = await browser.new_page(viewport={"width": 360, "height": 640})
            await page.goto(demo_link)
            await page.get_by_text("Consent to telehealth services").wait_for(timeout=10_000)
            assert "#" not in page.url  # the token left the address bar
            assert await page.locator("#practice").text_content() == "Harbour Counselling (demo)"
            button = page.get_by_role("button", name="I agree and sign")
            assert await button.count() == 1
            await page.screenshot(path=str(SHOT))
        finally:
            await browser.close()
    assert SHOT.stat().st_size > 1000
