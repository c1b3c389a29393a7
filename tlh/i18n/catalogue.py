"""A shipped language's page strings, read from its ``.po`` with Babel's reader."""

from __future__ import annotations

import functools
from importlib.resources import files
from pathlib import Path

import msgspec
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

from tlh.domain.language import LANGUAGES, SOURCE_LANGUAGE


def po_path(language: str) -> Path:
    """Where ``language``'s catalogue is kept (in the package: the wheel carries it)."""
    root = files("tlh.i18n").joinpath("locale", language, "LC_MESSAGES", "messages.po")
    return Path(str(root))


def read_catalog(language: str) -> Catalog:
    """``language``'s catalogue as Babel reads it."""
    with po_path(language).open("rb") as handle:
        return read_po(handle, locale=language)


@functools.cache
def page_strings(language: str) -> bytes | None:
    """``{"English": "translation"}`` as JSON for the pages, read once (the file only
    changes with a new version of tlh); ``None`` for a language not shipped. A fuzzy
    or empty translation is left out: the page shows the English then."""
    if language not in LANGUAGES or language == SOURCE_LANGUAGE:
        return None
    table = {
        str(m.id): str(m.string)
        for m in read_catalog(language)
        if m.id and isinstance(m.id, str) and m.string and not m.fuzzy
    }
    return msgspec.json.encode(dict(sorted(table.items())))
