"""Message templates per language (issue 13 item 8): every shipped language has every
template with the same placeholders and conditions as the English one; a practice's
own folder with English only still loads and speaks its own English to everyone."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from tlh.domain.language import LANGUAGES, SOURCE_LANGUAGE
from tlh.domain.messages import MessageChannel, MessageKind
from tlh.messaging.templates import Templates, default_templates_dir, template_names

OTHERS = [lang for lang in LANGUAGES if lang != SOURCE_LANGUAGE]
ENGLISH = [n for n in template_names() if "/" not in n]
VALUES = {
    "practice_name": "Riverside",
    "date": "D",
    "time": "T",
    "timezone": "EST",
    "link": "https://tlh.example/j#tok",
    "clinician_name": "Dr. Kim",
    "recipient_name": "Ana",
    "code": "123456",
    "video": "yes",
}


@pytest.mark.parametrize("language", OTHERS)
@pytest.mark.parametrize("name", ENGLISH)
def test_every_template_is_translated_with_the_same_placeholders(language: str, name: str) -> None:
    shipped = default_templates_dir()
    english = (shipped / name).read_text(encoding="utf-8")
    translated = (shipped / language / name).read_text(encoding="utf-8")
    assert translated != english
    placeholders = set(re.findall(r"\{([a-z_]+)\}", english))
    assert set(re.findall(r"\{([a-z_]+)\}", translated)) == placeholders
    conditions = set(re.findall(r"\?!?[a-z_]+ ", english))
    assert set(re.findall(r"\?!?[a-z_]+ ", translated)) == conditions
    if name.endswith(".html"):
        assert f'lang="{language}"' in translated
        assert 'lang="en"' not in translated


@pytest.mark.parametrize("kind", list(MessageKind))
def test_a_spanish_render_is_spanish_and_none_is_english(kind: MessageKind) -> None:
    templates = Templates.load(default_templates_dir())
    spanish = templates.render(kind, MessageChannel.EMAIL, VALUES, "es")
    english = templates.render(kind, MessageChannel.EMAIL, VALUES, None)
    # A sign-in code greets nobody by name: it goes to whoever typed the address.
    anonymous = kind is MessageKind.PORTAL_CODE
    assert spanish.text.startswith("Hola:" if anonymous else "Hola, Ana:")
    assert english.text.startswith("Hello," if anonymous else "Hello Ana,")
    assert templates.render(kind, MessageChannel.EMAIL, VALUES, "en") == english


def test_a_practice_folder_with_english_only_loads_and_keeps_its_own_words(
    tmp_path: Path,
) -> None:
    for name in ENGLISH:
        shutil.copy(default_templates_dir() / name, tmp_path / name)
    (tmp_path / "invitation.sms.txt").write_text("Our own words, {practice_name}: {link}\n")
    templates = Templates.load(tmp_path)
    for language in (None, "es"):
        sms = templates.render(MessageKind.INVITATION, MessageChannel.SMS, VALUES, language)
        assert sms.text == "Our own words, Riverside: https://tlh.example/j#tok"


def test_a_practice_spanish_folder_is_checked_at_load(tmp_path: Path) -> None:
    shutil.copytree(default_templates_dir(), tmp_path / "t")
    (tmp_path / "t" / "es" / "invitation.sms.txt").write_text("Hola {nombre}\n")
    with pytest.raises(Exception, match=r"es/invitation.sms.txt line 1: unknown placeholder"):
        Templates.load(tmp_path / "t")
