"""The identity-code templates: shipped, and optional in a practice's older copy."""

from __future__ import annotations

import shutil
from pathlib import Path

from tlh.domain.messages import MessageChannel, MessageKind
from tlh.messaging.templates import Templates, default_templates_dir

VALUES = {
    "practice_name": "Riverside Counselling",
    "recipient_name": "A & B",
    "code": "042917",
    "link": "",
}


def test_the_code_reaches_every_channel() -> None:
    templates = Templates.load(default_templates_dir())
    sms = templates.render(MessageKind.IDENTITY_CODE, MessageChannel.SMS, VALUES)
    email = templates.render(MessageKind.IDENTITY_CODE, MessageChannel.EMAIL, VALUES)
    assert "042917" in sms.text
    assert len(sms.text) <= 160
    assert "042917" in email.text
    assert "Riverside Counselling" in email.subject
    assert email.html is not None
    assert "042917" in email.html
    assert "A &amp; B" in email.html


def test_a_practice_copy_without_identity_templates_still_loads(tmp_path: Path) -> None:
    old = tmp_path / "templates"
    shutil.copytree(default_templates_dir(), old)
    for path in old.glob("identity_code.*"):
        path.unlink()
    templates = Templates.load(old)
    sms = templates.render(MessageKind.IDENTITY_CODE, MessageChannel.SMS, VALUES)
    assert "042917" in sms.text
