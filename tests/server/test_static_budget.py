"""The pages stay small and script-clean, and every page answer carries strict headers."""

from __future__ import annotations

import re

import pytest

from tlh.domain.language import LANGUAGES
from tlh.i18n.catalogue import page_strings
from tlh.server.routes.pages import asset_bytes, asset_names, csp

from .conftest import Practice

#: What one page loads (the page and every module and stylesheet it pulls in); the portal
#: has its own, smaller budget below.
BUDGET = 150 * 1024
INLINE_HANDLER = re.compile(rb"<[^>]*\son[a-z]+\s*=", re.IGNORECASE)
INLINE_SCRIPT = re.compile(rb"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)


@pytest.mark.parametrize("page", ["j.html", "c.html", "a.html", "p.html"])
def test_each_page_and_what_it_loads_fit_the_budget(page: str) -> None:
    # What a person downloads is one page and its assets (pages share none of each
    # other's scripts but api.js, i18n.js and j.css), so the budget is per page: four
    # pages (join, call, one-tap, portal) no longer fit one sum of every file.
    assert {"j.html", "c.html", "j.js", "c.js", "call.js", "ws.js", "device.js"} <= set(
        asset_names()
    )
    seen: set[str] = set()
    _loaded_by(page, seen)
    total = sum(len(asset_bytes(name) or b"") for name in seen)
    assert 0 < total <= BUDGET, f"{page} and its assets are {total} bytes, budget {BUDGET}"


@pytest.mark.parametrize("name", ["j.html", "c.html", "a.html", "p.html"])
def test_pages_have_no_inline_scripts_handlers_or_styles(name: str) -> None:
    page = asset_bytes(name)
    assert page is not None
    assert not INLINE_SCRIPT.search(page)
    assert not INLINE_HANDLER.search(page)
    assert b"style=" not in page
    assert b"javascript:" not in page.lower()


def test_scripts_never_write_html_strings() -> None:
    # Text nodes only: nothing from the server is ever parsed as markup.
    for name in asset_names():
        if name.endswith(".js"):
            source = asset_bytes(name) or b""
            assert b"innerHTML" not in source, name
            assert b"eval(" not in source, name


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("/j", "text/html"),
        ("/c", "text/html"),
        ("/a", "text/html"),
        ("/j.js", "text/javascript"),
        ("/call.js", "text/javascript"),
        ("/j.css", "text/css"),
        ("/call.css", "text/css"),
    ],
)
async def test_pages_and_assets_carry_strict_headers(
    practice: Practice, path: str, kind: str
) -> None:
    response = await practice.client.get(path)
    assert response.status == 200
    assert response.headers["Content-Type"].startswith(kind)
    policy = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy
    assert "script-src 'self';" in policy
    assert "unsafe-inline" not in policy
    assert "media-src 'self' blob:" in policy
    assert "connect-src 'self'" in policy
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "no-cache"
    permissions = response.headers["Permissions-Policy"]
    for feature in ("camera=(self)", "microphone=(self)", "display-capture=(self)"):
        assert feature in permissions


@pytest.mark.parametrize("path", ["/nope.js", "/../pyproject.toml", "/j.html.bak", "/c.py"])
async def test_unknown_assets_are_404(practice: Practice, path: str) -> None:
    response = await practice.client.get(path)
    assert response.status == 404


def test_websocket_origin_is_spelled_out_only_for_a_sane_host() -> None:
    assert "ws://127.0.0.1:8080 wss://127.0.0.1:8080" in csp("127.0.0.1:8080")
    odd = csp("evil.example; script-src *")
    assert "evil" not in odd
    assert odd.endswith("connect-src 'self'")


def test_every_referenced_asset_exists() -> None:
    names = set(asset_names())
    for name in names:
        if not name.endswith((".html", ".js", ".css")):
            continue  # the icon is an image
        text = (asset_bytes(name) or b"").decode(errors="replace")  # the icon is binary
        refs = re.findall(r'(?:src|href)="/([^"]+)"', text) + re.findall(r'from "\./([^"]+)"', text)
        for ref in refs:
            assert ref in names, f"{name} refers to missing {ref}"


async def test_the_favicon_is_served(practice: Practice) -> None:
    # Every page load asks for it; a 404 each time fills logs and consoles.
    response = await practice.client.get("/favicon.ico")
    assert response.status == 200
    assert response.headers["Content-Type"] == "image/x-icon"
    assert (await response.read())[:4] == b"\x00\x00\x01\x00"


#: The client portal page and everything it loads (issue 13): at most 100 KB.
PORTAL_BUDGET = 100 * 1024


def _loaded_by(name: str, seen: set[str]) -> None:
    """``name`` and every asset it loads (links, scripts, ES module imports)."""
    if name in seen:
        return
    seen.add(name)
    text = (asset_bytes(name) or b"").decode(errors="replace")  # the icon is binary
    for found in re.findall(r'(?:href|src)="/([a-z0-9_.-]+)"|from "\./([a-z0-9_.-]+)"', text):
        _loaded_by(found[0] or found[1], seen)


def test_the_portal_page_and_its_assets_fit_100_kb() -> None:
    seen: set[str] = set()
    _loaded_by("p.html", seen)
    assert {"p.html", "p.js", "p.css", "j.css", "api.js", "p_cards.js"} <= seen
    total = sum(len(asset_bytes(name) or b"") for name in seen)
    # A reader in another language also loads that language's words, once.
    words = max(len(page_strings(lang) or b"") for lang in LANGUAGES)
    print(f"portal page and assets: {total} bytes ({len(seen)} files) + words {words} bytes")
    assert total + words <= PORTAL_BUDGET, (
        f"the portal is {total + words} bytes, budget {PORTAL_BUDGET}"
    )
