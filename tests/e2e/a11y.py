"""Accessibility checks the browser tests run on a page in any state: axe-core's serious
and critical violations (axe-core from npm, installed by ``make axe`` into
tests/e2e/axe), the focus ring's contrast, element positions against the viewport."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from playwright.async_api import TimeoutError as PlaywrightTimeout

AXE = Path(__file__).resolve().parent / "axe" / "node_modules" / "axe-core" / "axe.min.js"

#: axe's worst findings: these must be none, in every state of every page.
BLOCKING = ("serious", "critical")

_RUN_AXE = """async () => {
  const found = await axe.run(document, { resultTypes: ["violations"] });
  return found.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 3).map((n) => n.target.join(" ")),
  }));
}"""

# The focused element's ring and what is behind it (the first opaque background up the
# tree; the page's own when none).
_FOCUS_RING = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const style = getComputedStyle(el);
  let node = el.parentElement;
  let behind = "rgb(255, 255, 255)";
  while (node) {
    const bg = getComputedStyle(node).backgroundColor;
    if (bg && !bg.startsWith("rgba(0, 0, 0, 0)") && bg !== "transparent") { behind = bg; break; }
    node = node.parentElement;
  }
  return {
    tag: el.tagName, id: el.id, text: (el.textContent || "").trim().slice(0, 40),
    style: style.outlineStyle, width: parseFloat(style.outlineWidth) || 0,
    color: style.outlineColor, behind,
  };
}"""


async def axe_violations(page: Any) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations on the page as it is now."""
    assert AXE.exists(), f"axe-core is not installed ({AXE}): run `make axe`"
    if not await page.evaluate("() => typeof window.axe === 'object'"):
        # Evaluated through the DevTools protocol: the page's CSP (scripts from 'self'
        # only) is not loosened for the test.
        await page.evaluate(AXE.read_text(encoding="utf-8") + "\n;0")
    found = await page.evaluate(_RUN_AXE)
    return [v for v in found if v["impact"] in BLOCKING]


async def assert_accessible(page: Any, state: str) -> None:
    """No serious or critical axe-core violation in ``state``."""
    found = await axe_violations(page)
    assert found == [], f"axe-core, {state}: {found}"


def _rgb(css: str) -> tuple[float, float, float]:
    parts = css[css.index("(") + 1 : css.index(")")].replace("/", ",").split(",")
    r, g, b = (float(p) for p in parts[:3])
    return r, g, b


def contrast(a: str, b: str) -> float:
    """WCAG contrast ratio of two CSS ``rgb()`` colours."""

    def luminance(css: str) -> float:
        def channel(c: float) -> float:
            c /= 255
            return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

        r, g, b = (channel(c) for c in _rgb(css))
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


async def focus_ring(page: Any) -> dict[str, Any] | None:
    """The focused element's outline (style, width, colour) and the colour behind it."""
    found: dict[str, Any] | None = await page.evaluate(_FOCUS_RING)
    return found


async def assert_visible_focus(page: Any) -> dict[str, Any]:
    """The focused element shows a ring of at least 2 px with 3:1 contrast (WCAG 2.4.7,
    1.4.11)."""
    ring = await focus_ring(page)
    assert ring is not None, "nothing has the focus"
    assert ring["style"] not in ("none", "hidden"), ring
    assert ring["width"] >= 2, ring
    ratio = contrast(ring["color"], ring["behind"])
    assert ratio >= 3, f"focus ring contrast {ratio:.2f}:1 on {ring}"
    return ring


async def box(page: Any, selector: str, timeout_ms: float = 5_000) -> dict[str, float]:
    """An element's bounding box (it must be rendered within ``timeout_ms``). A list the
    page redraws on an event replaces its rows: a row found a moment before may be gone
    when it is measured, so it is found again and measured, until the deadline."""
    found = page.locator(selector).first
    deadline = time.monotonic() + timeout_ms / 1000
    while True:
        left_ms = max(0.0, (deadline - time.monotonic()) * 1000)
        try:
            await found.wait_for(state="visible", timeout=left_ms or 1)
        except PlaywrightTimeout:
            raise AssertionError(f"{selector} is not rendered") from None
        at = await found.bounding_box()
        if at is not None:
            return dict(at)
        assert time.monotonic() < deadline, f"{selector} is not rendered"


async def in_view(page: Any, selector: str) -> None:
    """The element is entirely inside the viewport, without scrolling."""
    at = await box(page, selector)
    size = page.viewport_size
    assert at["y"] >= 0, (selector, at)
    assert at["x"] >= 0, (selector, at)
    assert at["y"] + at["height"] <= size["height"], (selector, at, size)
    assert at["x"] + at["width"] <= size["width"], (selector, at, size)
