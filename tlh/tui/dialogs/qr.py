"""``QrCode``: the call page's URL and a QR code of it, for when no browser can be opened.

Over SSH or on a headless machine the clinician scans the code with a phone or tablet
(or copies the URL). The code is drawn with unicode half blocks, two modules a cell
high, dark on a forced light background so it scans whatever the terminal's theme;
a typical call URL (version 4-5, error level L) fits an 80x24 terminal.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

from tlh.tui.screens.base import DashboardScreen

#: Light modules around the code (the standard asks for 4; 1 keeps it within 24 rows).
QUIET_ZONE = 1
#: (top dark, bottom dark) → the character drawn in dark on light.
HALF_BLOCKS = {(False, False): " ", (True, False): "▀", (False, True): "▄", (True, True): "█"}
QR_STYLE = "black on white"


def qr_matrix(url: str, border: int = QUIET_ZONE) -> list[list[bool]]:
    """The QR code's modules (True = dark), with ``border`` light modules around."""
    import segno  # only when there is no browser: the dashboard starts without it

    code = segno.make(url, error="l", micro=False)
    return [[bool(module) for module in row] for row in code.matrix_iter(border=border)]


def half_blocks(matrix: Sequence[Sequence[bool]]) -> list[str]:
    """Two rows of modules per line of text (a missing last row is light)."""
    lines = []
    for top in range(0, len(matrix), 2):
        upper = matrix[top]
        lower = matrix[top + 1] if top + 1 < len(matrix) else [False] * len(upper)
        lines.append("".join(HALF_BLOCKS[pair] for pair in zip(upper, lower, strict=True)))
    return lines


def qr_text(lines: Iterable[str]) -> Text:
    """The half-block lines as one ``Text`` in the forced light/dark colours."""
    return Text("\n".join(lines), style=QR_STYLE, no_wrap=True)


class QrCode(ModalScreen[None]):
    """The URL (literal text) above its QR code; Esc closes.

    It stays up until closed, over a screen that stays live: the numbered screen behind
    it redraws whenever the dashboard's state changes, so an arrival (or someone
    leaving) shows at once rather than when Esc is pressed. (A numbered screen redraws
    itself only while it is in front; this dialog covers just part of it.)
    """

    CSS_PATH = Path(__file__).with_name("qr_menu.tcss")
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "close", "Close")]

    def __init__(self, url: str) -> None:
        super().__init__()
        self.url = url
        self.lines = half_blocks(qr_matrix(url))

    def compose(self) -> ComposeResult:
        """The URL, then the code; the title and the hint sit in the border."""
        box = Vertical(id="qr-box")
        box.border_title = "No browser: scan or open"
        box.border_subtitle = "Esc closes"
        with box:
            yield Static(self.url, id="qr-url", markup=False)
            yield Static(qr_text(self.lines), id="qr-code")

    def on_mount(self) -> None:
        """Follow the dashboard's state while up (the app's ``revision``)."""
        if hasattr(self.app, "revision"):
            self.watch(self.app, "revision", self._behind_changed, init=False)

    def _behind_changed(self) -> None:
        """Redraw the numbered screen right behind this dialog (not one under the lock)."""
        if not self.is_active:
            return
        stack = self.app.screen_stack
        behind = stack[-2] if len(stack) > 1 else None
        if isinstance(behind, DashboardScreen):
            behind.redraw()

    def action_close(self) -> None:
        """Back to the dashboard."""
        self.dismiss(None)
