"""The translatable English strings of the client pages: ``t("...")`` in the scripts
(Babel's JavaScript extractor) and the text and labels of ``data-i18n`` elements in the
HTML (a small extractor of our own: Babel has none for HTML)."""

from __future__ import annotations

from html.parser import HTMLParser
from importlib.resources import files
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract

#: The pages whose words are translated: the client's join page and its modules (the
#: call's modules are shared with the clinician's page, which stays English).
KEYWORDS = {"t": None}
#: Attributes a ``data-i18n-attr`` element may name for translation.
ATTRIBUTES = frozenset({"aria-label", "title", "placeholder", "alt"})


def static_dir() -> Path:
    """The folder of the pages and their scripts."""
    return Path(str(files("tlh.server").joinpath("static")))


class _Marked(HTMLParser):
    """Collects the text of ``data-i18n`` elements and the ``data-i18n-attr`` labels."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[int, str]] = []
        self._open: list[tuple[str, int, list[str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        given = dict(attrs)
        line = self.getpos()[0]
        for name in (given.get("data-i18n-attr") or "").split():
            value = given.get(name)
            if name in ATTRIBUTES and value:
                self.found.append((line, value))
        if "data-i18n" in given:
            self._open.append((tag, line, []))

    def handle_data(self, data: str) -> None:
        if self._open:
            self._open[-1][2].append(data)

    def handle_endtag(self, tag: str) -> None:
        if self._open and self._open[-1][0] == tag:
            _, line, parts = self._open.pop()
            text = " ".join("".join(parts).split())
            if text:
                self.found.append((line, text))


def html_strings(text: str) -> list[tuple[int, str]]:
    """``(line, English text)`` of every marked element and label in a page."""
    parser = _Marked()
    parser.feed(text)
    parser.close()
    return parser.found


def source_catalog(folder: Path | None = None) -> Catalog:
    """Every translatable string of the pages in ``folder`` (the packaged static
    folder by default), with where it is used."""
    folder = folder or static_dir()
    catalog = Catalog(project="tlh", locale=None)
    for path in sorted(folder.glob("*.js")):
        with path.open("rb") as handle:
            found = extract(
                "javascript",
                handle,
                keywords=KEYWORDS,
                options={"parse_template_string": True},
            )
            for line, message, _comments, _context in found:
                if isinstance(message, str) and message:
                    catalog.add(message, locations=[(path.name, line)])
    for path in sorted(folder.glob("*.html")):
        for line, message in html_strings(path.read_text(encoding="utf-8")):
            catalog.add(message, locations=[(path.name, line)])
    return catalog
