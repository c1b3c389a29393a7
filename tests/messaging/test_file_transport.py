"""The file transport writes what SMTP would send, atomically, into the mail drop (beside
the data dir, never inside it)."""

from __future__ import annotations

from email import message_from_bytes, policy
from pathlib import Path

import icalendar
import pytest

from tests.messaging.support import email, sms
from tlh.domain.messages import MessageChannel
from tlh.messaging.config import MessagingConfig
from tlh.messaging.errors import PermanentError
from tlh.messaging.file_transport import FileTransport
from tlh.messaging.transports import build_transports


async def test_email_is_an_eml_that_parses_back(tmp_path: Path) -> None:
    transport = FileTransport(MessageChannel.EMAIL, tmp_path, "office@example.org")
    provider_id = await transport.send(email(7))
    name = "msg_0007.eml"
    assert provider_id == f"file:{tmp_path / name}"  # says where it was written
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == ["msg_0007.eml"]  # no temp file left behind
    got = message_from_bytes((tmp_path / name).read_bytes(), policy=policy.default)
    assert got["To"] == "client7@example.com"
    assert got["Message-ID"] == "<msg_0007@example.org>"
    assert got.get_body(("plain",)) is not None
    assert got.get_body(("html",)) is not None
    [ics] = list(got.iter_attachments())  # type: ignore[attr-defined]
    assert ics.get_content_type() == "text/calendar"
    assert ics.get_param("method") == "REQUEST"
    assert icalendar.Calendar.from_ical(ics.get_content()).walk("VEVENT")


async def test_sms_is_a_txt_with_the_number_and_body(tmp_path: Path) -> None:
    transport = FileTransport(MessageChannel.SMS, tmp_path)
    provider_id = await transport.send(sms(3))
    name = "msg_s0003.txt"
    assert provider_id == f"file:{tmp_path / name}"
    text = (tmp_path / name).read_text()
    assert text == "To: +15555550100\n\nTest practice: your session starts at 10:00."


async def test_wrong_channel_and_unsafe_ids_are_refused(tmp_path: Path) -> None:
    transport = FileTransport(MessageChannel.SMS, tmp_path)
    with pytest.raises(PermanentError):
        await transport.send(email(1))
    with pytest.raises(PermanentError):
        await transport.send(sms(1, id="../escape"))
    assert not (tmp_path / "escape.txt").exists()


def test_build_transports_defaults_to_files(tmp_path: Path) -> None:
    transports = build_transports(MessagingConfig(), tmp_path)
    assert set(transports) == {MessageChannel.EMAIL, MessageChannel.SMS}
    assert all(isinstance(t, FileTransport) for t in transports.values())
    assert all(t.channel is c for c, t in transports.items())


def test_the_mail_drop_is_beside_the_data_dir_or_where_configured(tmp_path: Path) -> None:
    data = tmp_path / "practice" / "data"
    defaults = build_transports(MessagingConfig(), data)
    drops = {t.directory for t in defaults.values() if isinstance(t, FileTransport)}
    assert drops == {tmp_path / "practice" / "data-mail"}  # beside, not inside
    chosen = build_transports(MessagingConfig(mail_dir=str(tmp_path / "drop")), data)
    assert {t.directory for t in chosen.values() if isinstance(t, FileTransport)} == {
        tmp_path / "drop"
    }


async def test_the_mail_drop_is_made_owner_only(tmp_path: Path) -> None:
    drop = tmp_path / "drop"
    await FileTransport(MessageChannel.SMS, drop).send(sms(1))
    assert drop.stat().st_mode & 0o777 == 0o700
