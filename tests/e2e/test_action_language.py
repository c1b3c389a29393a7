"""The one-tap confirm/cancel page (``/a``) in the client's language (issue 13 item 8),
in Chromium at 360x640 against ``tlh serve``, the links read from the delivered
reminder: a Spanish client's page is Spanish whatever the browser prefers (the time
written from ``starts_at`` in Spanish, the refusal of a used link said from its reason),
an English client's stays English in a Spanish browser."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.actions_served import Served, served_practice

from .a11y import assert_accessible
from .browser import needs_chromium, no_overflow

pytestmark = [pytest.mark.timeout(120), needs_chromium]

#: A full Spanish date as Intl writes it: "martes, 8 de diciembre de 2026".
SPANISH_DATE = re.compile(
    r"^(lunes|martes|miércoles|jueves|viernes|sábado|domingo), \d{1,2} de [a-z]+ de \d{4}, "
)


@pytest.fixture
def served(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Served]:
    """The practice served (a sync fixture: it starts ``tlh serve`` and waits for the
    reminders), Ana's language as the test's parameter (none recorded without one)."""
    with served_practice(tmp_path, getattr(request, "param", None)) as practice:
        yield practice


async def _page(browser: Any, locale: str) -> Any:
    """A phone-sized page whose browser prefers ``locale``; its script errors kept."""
    context = await browser.new_context(viewport={"width": 360, "height": 640}, locale=locale)
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.js_errors = errors
    return page


async def _text(page: Any, selector: str) -> str:
    return " ".join(((await page.locator(selector).text_content()) or "").split())


@pytest.mark.parametrize("served", ["es"], indirect=True)
async def test_a_spanish_clients_one_tap_page_is_spanish(served: Served, browser: Any) -> None:
    confirm, cancel = served.links["apt_late"]
    page = await _page(browser, "en-US")  # the client's language wins
    await page.goto(confirm)
    await page.get_by_role("heading", name="Confirmar su cita").wait_for(timeout=10_000)
    assert await page.evaluate("document.documentElement.lang") == "es"
    assert await page.title() == "Confirmar su cita — Harbour"
    assert await _text(page, "dt >> nth=0") == "Cuándo"
    when = await _text(page, "#when")
    assert SPANISH_DATE.match(when), when
    assert await _text(page, "#with") == "Dr. Lee"
    await no_overflow(page)
    await assert_accessible(page, "confirm link in Spanish")
    await page.get_by_role("button", name="Confirmar mi cita").click()
    await page.get_by_role("heading", name="Su cita está confirmada").wait_for(timeout=10_000)
    done = await _text(page, "#done-text")
    assert done.startswith("Gracias. Le esperamos el "), done
    await assert_accessible(page, "confirmed in Spanish")

    # The same link again: the server's refusal (English) said from its reason.
    await page.goto(confirm)
    await page.get_by_role("heading", name="No se cambió nada").wait_for(timeout=10_000)
    refusal = await _text(page, "#problem-text")
    assert refusal.startswith("Este enlace ya se usó; no se cambió nada."), refusal

    # Cancelling inside late_cancel_hours: the warning and the outcome in Spanish.
    await page.goto(cancel)
    await page.get_by_role("heading", name="Cancelar su cita").wait_for(timeout=10_000)
    assert await _text(page, "#late-note") == (
        "Su cita es pronto: si cancela ahora, cuenta como una cancelación tardía."
    )
    await assert_accessible(page, "cancel link in Spanish")
    await page.get_by_role("button", name="Cancelar mi cita").click()
    await page.get_by_role("heading", name="Su cita está cancelada").wait_for(timeout=10_000)
    assert "(una cancelación tardía)" in await _text(page, "#done-text")
    assert page.js_errors == []


@pytest.mark.parametrize("served", ["en"], indirect=True)
async def test_an_english_clients_one_tap_page_stays_english_in_a_spanish_browser(
    served: Served, browser: Any
) -> None:
    confirm, _ = served.links["apt_ahead"]
    page = await _page(browser, "es-ES")
    await page.goto(confirm)
    await page.get_by_role("heading", name="Confirm your appointment").wait_for(timeout=10_000)
    assert await page.evaluate("document.documentElement.lang") == "en"
    assert await _text(page, "dt >> nth=0") == "When"
    assert not SPANISH_DATE.match(await _text(page, "#when"))
    await page.get_by_role("button", name="Confirm my appointment").click()
    await page.get_by_role("heading", name="Your appointment is confirmed").wait_for(timeout=10_000)
    assert page.js_errors == []


async def test_no_client_language_follows_the_browser(served: Served, browser: Any) -> None:
    confirm, _ = served.links["apt_ahead"]
    page = await _page(browser, "es-MX")
    await page.goto(confirm)
    await page.get_by_role("heading", name="Confirmar su cita").wait_for(timeout=10_000)
    assert await page.evaluate("document.documentElement.lang") == "es"
    assert page.js_errors == []
