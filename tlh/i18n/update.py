"""``python -m tlh.i18n.update``: bring every shipped language's ``.po`` up to date with
the pages' English strings (new ones added untranslated, gone ones dropped, existing
translations kept), then say how many wait for a translator."""

from __future__ import annotations

import sys

from babel.messages.pofile import write_po

from tlh.domain.language import LANGUAGES, SOURCE_LANGUAGE
from tlh.i18n.catalogue import po_path, read_catalog
from tlh.i18n.extract import source_catalog


def main() -> int:
    """Update the catalogues; exit 1 while any string has no translation."""
    template = source_catalog()
    missing = 0
    for language in LANGUAGES:
        if language == SOURCE_LANGUAGE:
            continue
        catalog = read_catalog(language)
        template.creation_date = catalog.creation_date  # no churn in the header
        # No fuzzy matching: a guessed translation of a changed sentence is worse
        # than none (the test asks a person for it).
        catalog.update(template, no_fuzzy_matching=True)
        catalog.obsolete.clear()
        with po_path(language).open("wb") as handle:
            write_po(handle, catalog, width=100, include_lineno=False)
        todo = [m.id for m in catalog if m.id and not m.string]
        missing += len(todo)
        for message in todo:
            print(f"{language}: untranslated: {message}", file=sys.stderr)
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
