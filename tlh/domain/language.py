"""The languages tlh speaks to clients in: the join page, the client's call page and
the client messages ship in these (English is the source; ``tlh/i18n`` holds the others).
"""

from __future__ import annotations

from tlh.errors import InvalidInput

#: The language every page and message is written in first, and the fallback.
SOURCE_LANGUAGE = "en"
#: Every language shipped, as BCP 47 primary tags (a catalogue and a set of message
#: templates exist for each one that is not the source).
LANGUAGES: tuple[str, ...] = ("en", "es")


def parse_language(text: str) -> str:
    """The shipped language ``text`` names (``"es"``, ``"ES"``, ``"es-MX"`` → ``"es"``),
    or ``InvalidInput`` naming the languages there are."""
    tag = text.strip().replace("_", "-")
    primary = tag.split("-", 1)[0].lower()
    if primary not in LANGUAGES or not tag.replace("-", "").isalnum():
        raise InvalidInput(
            f"unknown language {text.strip()[:20]!r}: use one of {', '.join(LANGUAGES)}"
        )
    return primary
