"""The client portal (``/p``) in the client's language (issue 13 item 8), in Chromium at
360x640 against the real server: before sign-in the page speaks the browser's language
(the server's English errors said from their codes); once signed in, the client's own,
whatever the browser prefers: headings, buttons, the card's date, the passkey offer
(built before the page knew the person), the notice that appears on its own, and
``<html lang>``; axe-core on each state."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest

from tlh.messaging.file_transport import mail_drop_dir

from .a11y import assert_accessible
from .browser import SHOTS, LiveServer, needs_chromium, no_overflow
from .test_portal_page import _code_from_mail_drop, _plain, _practice_with_a_visit
from .test_portal_passkey import NO_AUTOFILL, localhost_server

__all__ = ["localhost_server"]  # the fixture, served at http://localhost (passkeys shown)
pytestmark = [pytest.mark.timeout(120), needs_chromium]
SPANISH_DAY = re.compile(r"^(lunes|martes|miércoles|jueves|viernes|sábado|domingo), \d{1,2} de ")


async def _language(server: LiveServer, appt_id: str, language: str) -> None:
    """Record ``language`` for the appointment's client."""
    async with aiohttp.ClientSession(headers=server.auth) as http:
        async with http.get(f"{server.url}/api/v1/appointments/{appt_id}") as answer:
            client_id = (await answer.json())["client_ids"][0]
        async with http.patch(
            f"{server.url}/api/v1/clients/{client_id}", json={"language": language}
        ) as answer:
            assert answer.status == 200, await answer.text()


async def _spanish_code(server: LiveServer) -> str:
    """The code of the first Spanish sign-in message ("Su código de acceso") the file
    transport writes (the client's language reaches the message too)."""
    drop = mail_drop_dir(server.data_dir)
    async with asyncio.timeout(10):
        while True:
            for path in drop.glob("*.eml") if drop.exists() else []:
                found = re.search(r"\b(\d{6})\b", _plain(path.read_bytes()))
                if found and "código" in _plain(path.read_bytes()):
                    return found.group(1)
            await asyncio.sleep(0.05)  # a file appearing: polled, bounded by the timeout


async def _page(browser: Any, locale: str) -> Any:
    """A 360x640 page preferring ``locale``, running in UTC (the practice is in New York)."""
    context = await browser.new_context(
        viewport={"width": 360, "height": 640}, locale=locale, timezone_id="UTC"
    )
    await context.grant_permissions(["camera", "microphone"])
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.js_errors = errors
    return page


async def _text(page: Any, selector: str) -> str:
    return " ".join(((await page.locator(selector).text_content()) or "").split())


async def _send_code(page: Any, button: str, heading: str) -> None:
    await page.locator("#address").fill("ana@example.org")
    await page.get_by_role("button", name=button).click()
    await page.get_by_role("heading", name=heading).wait_for(timeout=10_000)


async def test_a_spanish_client_signs_in_and_sees_the_portal_in_spanish(
    localhost_server: LiveServer, browser: Any
) -> None:
    server = localhost_server
    appt_id = await _practice_with_a_visit(server, datetime.now(UTC) + timedelta(minutes=12))
    await _language(server, appt_id, "es")
    page = await _page(browser, "en-US")  # the client's language wins once known
    await page.add_init_script(NO_AUTOFILL)
    await page.clock.install()
    await page.goto(f"{server.url}/p")
    await page.get_by_role("heading", name="Sign in").wait_for(timeout=10_000)
    await _send_code(page, "Send me a code", "Enter your code")
    await page.locator("#code-input").fill(await _spanish_code(server))
    await page.get_by_role("button", name="Sign in", exact=True).click()

    await page.get_by_role("heading", name="Sus citas").wait_for(timeout=10_000)
    assert await page.evaluate("document.documentElement.lang") == "es"
    assert await page.title() == "Portal de clientes"
    assert await _text(page, "#who") == "Ha iniciado sesión como Ana Client."
    card = page.locator("#appointments li").first
    await card.wait_for(timeout=5_000)
    day = await _text(page, "#appointments li h2")
    assert SPANISH_DAY.match(day), day
    assert " a las " in day, day
    text = " ".join((await card.text_content() or "").split())
    for said in (
        "Con Dr. Lee",
        "Video (telesalud)",
        "Confirmada",
        "hora del consultorio (America/New_York)",
    ):
        assert said in text, text
    assert await card.get_by_role("button", name="Entrar").is_enabled()
    assert await page.get_by_role("button", name="Cerrar sesión", exact=True).is_visible()
    assert await page.get_by_role("list", name="Próximas citas").is_visible()
    # The passkey offer was built at load, in English: it is rewritten in Spanish.
    offer = page.locator("#passkey-offer")
    await offer.wait_for(timeout=10_000)
    assert "La próxima vez, inicie sesión con un solo toque" in await _text(page, "#passkey-offer")
    assert await page.get_by_role(
        "button", name="Agregar una clave de acceso", exact=True
    ).is_visible()
    assert await _text(page, "#passkey-manage summary") == "Sus claves de acceso (0)"
    assert "Sign" not in await _text(page, "#home")  # no English left on the page
    await no_overflow(page)
    await assert_accessible(page, "portal home in Spanish")

    # Three minutes on the page's clock: the notice shows itself, in Spanish.
    await page.clock.run_for("03:00")
    await page.locator("#notice").wait_for(timeout=5_000)
    said = await _text(page, "#notice-text")
    assert re.fullmatch(r"Su sesión con Dr\. Lee comienza en (9|10) minutos\.", said), said
    assert await _text(page, "#notice-join") == "Entrar"
    assert await _text(page, "#notice-close") == "Cerrar"
    await assert_accessible(page, "portal notice in Spanish")
    SHOTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(SHOTS / "portal-es-360x640.png"), full_page=True)
    assert page.js_errors == []


async def test_an_english_client_signs_in_from_a_spanish_browser_and_reads_english(
    live_server: LiveServer, browser: Any
) -> None:
    appt_id = await _practice_with_a_visit(live_server, datetime.now(UTC) + timedelta(days=2))
    await _language(live_server, appt_id, "en")
    drop = mail_drop_dir(live_server.data_dir)
    page = await _page(browser, "es-ES")
    await page.goto(f"{live_server.url}/p")
    # Nobody known yet: the browser's language.
    await page.get_by_role("heading", name="Iniciar sesión").wait_for(timeout=10_000)
    assert await page.evaluate("document.documentElement.lang") == "es"
    assert await _text(page, "label[for=address]") == "Correo electrónico o número de celular"
    await assert_accessible(page, "portal sign-in in Spanish")
    await _send_code(page, "Enviarme un código", "Escriba su código")
    assert await _text(page, "#code-sent") == (
        "Si su consultorio tiene registrada esta dirección, le estamos enviando un código de "
        "6 dígitos. Funciona durante 10 minutos."
    )
    code = await _code_from_mail_drop(drop, {})
    await page.locator("#code-input").fill("000000" if code != "000000" else "111111")
    await page.get_by_role("button", name="Iniciar sesión", exact=True).click()
    await page.locator("#code-error").wait_for(timeout=5_000)
    # The server's English sign_in_failed, said from its code.
    assert await _text(page, "#code-error") == (
        "Ese código no coincide o ya caducó. Pida uno nuevo."
    )
    await assert_accessible(page, "portal wrong code in Spanish")
    await page.locator("#code-input").fill(code)
    await page.get_by_role("button", name="Iniciar sesión", exact=True).click()
    # Signed in: the client's own language, English.
    await page.get_by_role("heading", name="Your appointments").wait_for(timeout=10_000)
    assert await page.evaluate("document.documentElement.lang") == "en"
    card = page.locator("#appointments li").first
    await card.wait_for(timeout=5_000)
    text = await card.text_content() or ""
    assert "With Dr. Lee" in text
    assert not SPANISH_DAY.match(await _text(page, "#appointments li h2"))
    assert "Join opens at" in text
    assert await _text(page, "#sign-out") == "Sign out"
    assert page.js_errors == []
