"""Client messages in the client's language (issue 13 item 8): booked with the real
``tlh`` against a running server, rendered by the outbox and read from the file
transport's mail drop."""

from __future__ import annotations

import json
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest

from tests.maildrop import wait_delivered

from .conftest import Live


def ok(result: Any) -> Any:
    assert result.exit_code == 0, (result.exit_code, result.stderr)
    return result


@pytest.fixture(scope="module")
def doc(live: Live) -> str:
    email = "lang-doc@example.org"
    ok(live.run("staff", "add", email, "--name", "Dr. Lina Lang", "--role", "clinician",
                "--telehealth"))  # fmt: skip
    return email


def invitation(live: Live, doc: str, client_args: list[str], start: str) -> EmailMessage:
    made = json.loads(ok(live.run("client", "add", *client_args, "--json")).stdout)
    booked = ok(
        live.run("appt", "add", "--client", made["id"], "--clinician", doc,
                 "--start", start, "--duration", "50", "--telehealth")
    )  # fmt: skip
    appt_id = next(w for w in booked.stdout.split() if w.startswith("apt_"))
    items = json.loads(ok(live.run("outbox", "list", "--json")).stdout)["items"]
    [sent] = [m for m in items if m["appointment_id"] == appt_id]
    mail = message_from_bytes(
        wait_delivered(live.data_dir, sent["id"]).read_bytes(), policy=policy.default
    )
    assert isinstance(mail, EmailMessage)
    return mail


def html_of(mail: EmailMessage) -> str:
    part = mail.get_body(("html",))
    assert part is not None
    return str(part.get_content())  # type: ignore[attr-defined]


def test_a_spanish_client_gets_a_spanish_invitation(live: Live, doc: str) -> None:
    args = ["--name", "Elena Español", "--email", "elena@example.org", "--language", "es"]
    mail = invitation(live, doc, args, "2032-03-02T09:00")
    assert mail["Subject"] == "Su cita por video con CLI Practice el martes, 2 de marzo de 2032"
    body = text_of_mail(mail)
    assert body.startswith("Hola, Elena Español:")
    assert "Cuándo: martes, 2 de marzo de 2032, 9:00 (EST)" in body
    assert "Entre aquí: http" in body
    assert 'lang="es"' in html_of(mail)
    assert "Hello" not in body


def test_an_english_client_stays_english(live: Live, doc: str) -> None:
    args = ["--name", "Eddie English", "--email", "eddie@example.org"]
    mail = invitation(live, doc, args, "2032-03-03T09:00")
    assert mail["Subject"] == "Your video appointment with CLI Practice on Wednesday, March 3, 2032"
    body = text_of_mail(mail)
    assert body.startswith("Hello Eddie English,")
    assert "When: Wednesday, March 3, 2032, 9:00 AM (EST)" in body
    assert 'lang="en"' in html_of(mail)


def text_of_mail(mail: EmailMessage) -> str:
    part = mail.get_body(("plain",))
    assert part is not None
    return str(part.get_content())  # type: ignore[attr-defined]
