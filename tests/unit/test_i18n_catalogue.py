"""The client pages' catalogues (issue 13 item 8): every English string of the pages has
a translation in every shipped language, none is stale or fuzzy, placeholders survive
translation, and the pages' scripts only call t() in a way the extractor can read."""

from __future__ import annotations

import re
from pathlib import Path

import msgspec
import pytest

from tlh.domain import conntest
from tlh.domain.language import LANGUAGES, SOURCE_LANGUAGE
from tlh.i18n.catalogue import page_strings, read_catalog
from tlh.i18n.extract import html_strings, source_catalog, static_dir

OTHERS = [lang for lang in LANGUAGES if lang != SOURCE_LANGUAGE]
PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


@pytest.fixture(scope="module")
def source() -> set[str]:
    return {str(m.id) for m in source_catalog() if m.id}


def test_the_pages_have_strings_to_translate(source: set[str]) -> None:
    # The extractor finds both kinds: t("...") in scripts and data-i18n in the HTML.
    assert "Waiting room" in source  # j.html
    assert "{who} is online." in source  # waiting.js
    assert "You are early. The waiting room opens {at}." in source
    assert len(source) > 150


@pytest.mark.parametrize("language", OTHERS)
def test_every_string_is_translated_and_none_is_stale(language: str, source: set[str]) -> None:
    catalog = read_catalog(language)
    entries = {str(m.id): m for m in catalog if m.id}
    untranslated = sorted(s for s in source if s not in entries or not entries[s].string)
    assert not untranslated, f"no {language} translation (run `make i18n`): {untranslated}"
    stale = sorted(set(entries) - source)
    assert not stale, f"{language} translations of strings the pages no longer use: {stale}"
    assert not catalog.obsolete, "obsolete (#~) entries: run `make i18n`"
    fuzzy = sorted(s for s, m in entries.items() if m.fuzzy)
    assert not fuzzy, f"fuzzy {language} translations to check: {fuzzy}"
    for english, message in entries.items():
        wanted = set(PLACEHOLDER.findall(english))
        assert set(PLACEHOLDER.findall(str(message.string))) == wanted, english


@pytest.mark.parametrize("language", OTHERS)
def test_the_served_table_is_the_catalogue(language: str, source: set[str]) -> None:
    data = page_strings(language)
    assert data is not None
    table = msgspec.json.decode(data, type=dict[str, str])
    assert set(table) == source
    assert table["Waiting room"] != "Waiting room"
    assert page_strings("en") is None
    assert page_strings("xx") is None


def test_every_t_call_has_a_literal_the_extractor_can_read() -> None:
    for path in sorted(static_dir().glob("*.js")):
        if path.name == "i18n.js":
            continue  # where t() is defined and its use explained
        text = path.read_text(encoding="utf-8")
        for match in re.finditer(r"(?<![\w.$])t\(\s*([^\s)])", text):
            line = text.count("\n", 0, match.start()) + 1
            assert match.group(1) in "\"'`", f"{path.name}:{line}: t() needs a string literal"
            if match.group(1) == "`":
                end = text.index("`", match.end())
                assert "${" not in text[match.end() : end], f"{path.name}:{line}: no ${{}} in t()"


def test_the_page_knows_the_shipped_languages() -> None:
    script = (static_dir() / "i18n.js").read_text(encoding="utf-8")
    found = re.search(r"export const LANGUAGES = (\[.*?\]);", script)
    assert found
    assert msgspec.json.decode(found.group(1)) == list(LANGUAGES)


def test_the_page_translates_every_sentence_of_the_connection_advice() -> None:
    script = (static_dir() / "conntest.js").read_text(encoding="utf-8")
    sentences = {
        *conntest._LEAD.values(),
        *conntest._PROBLEM.values(),
        conntest._CLOSER,
        conntest._PAUSE,
        conntest._LAST_RESORT,
        conntest._UNREACHABLE,
    }
    listed = set(re.findall(r'^  \["([^"]+)", t\("', script, flags=re.MULTILINE))
    assert listed == sentences


def test_html_extraction_reads_text_and_labels() -> None:
    page = '<p data-i18n>Hello\n  there</p><video aria-label="Your camera" data-i18n-attr="aria-label"></video><p>not me</p>'
    assert [text for _, text in html_strings(page)] == ["Hello there", "Your camera"]


def test_the_catalogue_ships_in_the_package() -> None:
    import tomllib

    pyproject = Path(__file__).parents[2] / "pyproject.toml"
    data = tomllib.loads(pyproject.read_text())["tool"]["setuptools"]["package-data"]["tlh"]
    assert "i18n/locale/*/LC_MESSAGES/*.po" in data
    assert "messaging/default_templates/*/*" in data
