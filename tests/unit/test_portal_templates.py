"""The client portal's templates (issue 13): the sign-in code and the invitation, shipped,
and optional in a practice's older copy."""

from __future__ import annotations

import shutil
from pathlib import Path

from tlh.domain.messages import MessageChannel, MessageKind
from tlh.messaging.templates import Templates, default_templates_dir

E, S = MessageChannel.EMAIL, MessageChannel.SMS
PORTAL = "https://tlh.example.org/p"
VALUES = {"practice_name": "Riverside Counselling", "recipient_name": "A & B", "link": PORTAL}


def test_the_sign_in_code_reaches_every_channel_and_names_no_one() -> None:
    templates = Templates.load(default_templates_dir())
    values = {**VALUES, "code": "042917", "recipient_name": "", "link": ""}
    sms = templates.render(MessageKind.PORTAL_CODE, S, values)
    email = templates.render(MessageKind.PORTAL_CODE, E, values)
    assert "042917" in sms.text
    assert len(sms.text) <= 160
    assert "042917" in email.text
    assert "Riverside Counselling" in email.subject
    assert email.html is not None
    assert "042917" in email.html
    assert "{" not in email.text + email.html + sms.text


def test_the_invitation_carries_the_portal_address() -> None:
    templates = Templates.load(default_templates_dir())
    email = templates.render(MessageKind.PORTAL_INVITE, E, VALUES)
    sms = templates.render(MessageKind.PORTAL_INVITE, S, VALUES)
    assert PORTAL in email.text
    assert email.html is not None
    assert f'<a href="{PORTAL}"' in email.html
    assert "A &amp; B" in email.html
    assert PORTAL in sms.text
    assert len(sms.text) <= 160


def test_a_practice_copy_without_portal_templates_still_loads(tmp_path: Path) -> None:
    old = tmp_path / "templates"
    shutil.copytree(default_templates_dir(), old)
    for path in [*old.glob("portal_code.*"), *old.glob("portal_invite.*")]:
        path.unlink()
    templates = Templates.load(old)
    sms = templates.render(MessageKind.PORTAL_CODE, S, {**VALUES, "code": "042917"})
    assert "042917" in sms.text
