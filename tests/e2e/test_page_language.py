"""The join page in the client's language (issue 13 item 8), in Chromium at 360x640
against the real server: a Spanish client gets Spanish (visible words and
``<html lang>``) whatever the browser prefers, an English client English, and a client
with no language the browser's preference. Nothing is sent in another language than
the page says it speaks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest

from .a11y import assert_accessible
from .browser import (
    LiveServer,
    client_appointment_link,
    needs_chromium,
    no_overflow,
)

pytestmark = [pytest.mark.timeout(90), needs_chromium]


async def _link(
    server: LiveServer, name: str, email: str, language: str | None, later_min: int = 0
) -> str:
    """A consented client with a visit now (or ``later_min`` from now), their language set
    as given: their link."""
    start = datetime.now(UTC) + timedelta(minutes=later_min)
    link, client_id = await client_appointment_link(server, name, email, start)
    if language is not None:
        async with (
            aiohttp.ClientSession(headers=server.auth) as http,
            http.patch(
                f"{server.url}/api/v1/clients/{client_id}", json={"language": language}
            ) as answer,
        ):
            assert answer.status == 200, await answer.text()
    return link


async def _clinician(server: LiveServer) -> None:
    async with (
        aiohttp.ClientSession(headers=server.auth) as http,
        http.post(
            f"{server.url}/api/v1/staff",
            json={"email": "lee@example.org", "name": "Dr. Lee", "role": "clinician",
                  "telehealth": True},
        ) as answer,
    ):  # fmt: skip
        assert answer.status == 201, await answer.text()


async def _page(browser: Any, locale: str) -> Any:
    """A phone-sized page whose browser prefers ``locale``, camera and mic granted."""
    context = await browser.new_context(viewport={"width": 360, "height": 640}, locale=locale)
    await context.grant_permissions(["camera", "microphone"])
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.js_errors = errors
    return page


async def _text(page: Any, selector: str) -> str:
    return " ".join(((await page.locator(selector).text_content()) or "").split())


async def _through_device_check(page: Any, link: str, heading: str, go_on: str, room: str) -> None:
    await page.goto(link)
    await page.get_by_role("heading", name=heading).wait_for(timeout=10_000)
    await page.wait_for_function(
        "() => document.getElementById('device-preview').videoWidth > 0", timeout=10_000
    )
    await no_overflow(page)
    await page.get_by_role("button", name=go_on, exact=True).click()
    await page.get_by_role("heading", name=room).wait_for(timeout=10_000)


async def test_a_spanish_client_gets_the_page_in_spanish(
    live_server: LiveServer, browser: Any
) -> None:
    await _clinician(live_server)
    link = await _link(live_server, "Elena Español", "elena@example.org", "es")
    page = await _page(browser, "en-US")  # the client's language wins over the browser's
    await page.goto(link)
    await page.get_by_role("heading", name="Revise su cámara y su micrófono").wait_for(
        timeout=10_000
    )
    assert await page.evaluate("document.documentElement.lang") == "es"
    await page.wait_for_function(
        "() => document.getElementById('device-status').textContent.includes('funciona')",
        timeout=10_000,
    )
    assert await _text(page, "#device-status") == (
        "Cámara: funciona. Micrófono: funciona — hable para ver moverse la barra."
    )
    assert await _text(page, "label[for=mic-level]") == "Nivel del micrófono"
    assert await _text(page, "#conntest-start") == "Probar mi conexión"
    assert await page.get_attribute("#device-preview", "aria-label") == "Su cámara"
    await no_overflow(page)
    await assert_accessible(page, "device check in Spanish")
    await page.get_by_role("button", name="Continuar", exact=True).click()
    await page.get_by_role("heading", name="Sala de espera").wait_for(timeout=10_000)
    # The real server's status frame, said in Spanish.
    await page.wait_for_function(
        "() => document.getElementById('waiting-text').textContent.includes('le dejará entrar')",
        timeout=10_000,
    )
    assert await _text(page, "#waiting-text") == "Dr. Lee le dejará entrar en breve."
    assert await _text(page, "#presence") == "Dr. Lee todavía no está en línea."
    assert await _text(page, "#keep-open") == (
        "Mantenga esta página abierta. Entrará a la llamada en cuanto le dejen entrar."
    )
    assert await page.title() == "Su cita"
    await assert_accessible(page, "waiting room in Spanish")
    assert page.js_errors == []


async def test_an_english_client_stays_english_in_a_spanish_browser(
    live_server: LiveServer, browser: Any
) -> None:
    await _clinician(live_server)
    link = await _link(live_server, "Eddie English", "eddie@example.org", "en")
    page = await _page(browser, "es-ES")
    await _through_device_check(
        page, link, "Check your camera and microphone", "Continue", "Waiting room"
    )
    assert await page.evaluate("document.documentElement.lang") == "en"
    await page.wait_for_function(
        "() => document.getElementById('waiting-text').textContent.includes('let you in')",
        timeout=10_000,
    )
    assert await _text(page, "#waiting-text") == "Dr. Lee will let you in shortly."
    assert await page.title() == "Your appointment"
    assert page.js_errors == []


async def test_no_client_language_follows_the_browser(
    live_server: LiveServer, browser: Any
) -> None:
    await _clinician(live_server)
    link = await _link(live_server, "Nora Nolang", "nora@example.org", None)
    spanish = await _page(browser, "es-MX")
    await _through_device_check(
        spanish, link, "Revise su cámara y su micrófono", "Continuar", "Sala de espera"
    )
    assert await spanish.evaluate("document.documentElement.lang") == "es"
    english = await _page(browser, "en-GB")
    other = await _link(live_server, "Olga Other", "olga@example.org", None, later_min=55)
    await _through_device_check(
        english, other, "Check your camera and microphone", "Continue", "Waiting room"
    )
    assert await english.evaluate("document.documentElement.lang") == "en"


async def test_a_dead_link_is_explained_in_the_browsers_language(
    live_server: LiveServer, browser: Any
) -> None:
    page = await _page(browser, "es")
    await page.goto(f"{live_server.url}/j#{'x' * 43}")
    await page.get_by_role("heading", name="No pudimos abrir este enlace").wait_for(timeout=10_000)
    # The server's invalid_link answer (English) is said from its code and details.
    assert await _text(page, "#problem-text") == (
        "Este enlace no es válido. Pida uno nuevo a Harbour Counselling."
    )
    assert await page.evaluate("document.documentElement.lang") == "es"
