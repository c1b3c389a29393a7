"""No browser: admitting shows the call page's URL and a QR code of it that fits 80x24.

The URL carries a one-time token in its fragment: assertions here compare without
printing it (a failure says what differed, never the URL).
"""

from __future__ import annotations

import segno
from textual.widgets import Static

from tlh.tui.app import DashboardApp
from tlh.tui.dialogs.qr import QrCode

from .conftest import Practice
from .helpers import Fakes, running, screen_text, until, waiting

#: Each character is two modules, top and bottom (True = dark).
BLOCKS = {" ": (False, False), "▀": (True, False), "▄": (False, True), "█": (True, True)}


def decoded(lines: list[str]) -> list[list[bool]]:
    """The module matrix the half-block lines draw."""
    rows: list[list[bool]] = []
    for line in lines:
        pairs = [BLOCKS[char] for char in line]
        rows += [[top for top, _ in pairs], [bottom for _, bottom in pairs]]
    return rows


def expected(url: str, height: int) -> list[list[bool]]:
    """segno's matrix of ``url`` in a light quiet zone of 1, padded to ``height`` rows."""
    matrix = segno.make(url, error="l", micro=False).matrix
    width = len(matrix[0]) + 2
    rows = [[False] * width] + [[False, *map(bool, row), False] for row in matrix]
    return rows + [[False] * width] * (height - len(rows))


def check_dialog(app: DashboardApp, url: str) -> None:
    """The dialog shows the URL and a code of it, all of it on screen."""
    dialog = app.screen
    assert isinstance(dialog, QrCode)
    lines = str(dialog.query_one("#qr-code", Static).render()).splitlines()
    matrix = decoded(lines)
    same = matrix == expected(url, len(matrix))
    assert same, "the QR code drawn is not the code of the call URL"
    shown = screen_text(app)
    # (A row of light modules only is drawn as background: the screenshot has no text.)
    whole = all(line in shown for line in lines if line.strip())
    assert whole, "part of the QR code is cut off"
    literal = url in dialog_text(app) and url[:60] in shown
    assert literal, "the call URL is not shown"
    box = dialog.query_one("#qr-box").region
    inside = box.right <= app.size.width and box.bottom <= app.size.height
    assert inside, f"the dialog ({box.width}x{box.height}) does not fit {app.size}"


def dialog_text(app: DashboardApp) -> str:
    """The URL as the dialog's text widget holds it (wrapped lines joined)."""
    return str(app.screen.query_one("#qr-url", Static).render()).replace("\n", "")


async def test_without_a_browser_admit_shows_the_url_and_its_qr_code(
    practice: Practice,
) -> None:
    fakes = Fakes(browser=False)
    async with running(practice, (80, 24), fakes) as (app, pilot), waiting(pilot, practice):
        await pilot.press("a")
        await until(pilot, lambda: isinstance(app.screen, QrCode), "the QR dialog")
        await pilot.pause()
        check_dialog(app, fakes.opened[0])
        # A long https URL of a real deployment fits too (the longest likely).
        long_url = "https://telehealth.example-practice.org/c#" + "T" * 43
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, QrCode), "closed")
        app.ui.open_call(long_url)
        await until(pilot, lambda: isinstance(app.screen, QrCode), "the long one")
        await pilot.pause()
        check_dialog(app, long_url)


async def test_the_live_view_behind_the_qr_dialog_keeps_up(practice: Practice) -> None:
    """The dialog stays until Esc; meanwhile arrivals ring and show behind it, and
    someone's connection going shows at once, without closing it."""
    fakes = Fakes(browser=False)

    def row_of(name: str) -> str:
        rows = [line.strip() for line in screen_text(app).splitlines() if name in line]
        return rows[0] if rows else ""

    async with running(practice, (160, 50), fakes) as (app, pilot):
        app.ui.open_call("https://telehealth.example-practice.org/c#" + "T" * 43)
        await until(pilot, lambda: isinstance(app.screen, QrCode), "the QR dialog")
        rings = fakes.rings
        async with waiting(pilot, practice, display_name="Gale Guest"):
            await until(pilot, lambda: "Gale Guest" in screen_text(app), "the arrival behind it")
            assert fakes.rings == rings + 1
            assert isinstance(app.screen, QrCode)  # still up: nothing was closed
        # Their connection gone, the row says offline at once (it keeps its place for the
        # reconnect grace), not a minute later when the dialog closes.
        await until(pilot, lambda: "offline" in row_of("Gale Guest").split(), "offline")
        assert isinstance(app.screen, QrCode)
