"""Reading what the file transports delivered: the mail drop beside a data dir.

For servers in another process (``tlh serve``), where no in-process event can be awaited:
a delivered file appears atomically (rename), so its existence is the event, waited for
with a deadline.
"""

from __future__ import annotations

import asyncio
import re
import time
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

from tlh.messaging.file_transport import mail_drop_dir

TOKEN = re.compile(r"/j#([A-Za-z0-9_-]{40,})")


def _found(data_dir: Path, message_id: str) -> Path | None:
    drop = mail_drop_dir(data_dir)
    for suffix in (".eml", ".txt"):
        path = drop / f"{message_id}{suffix}"
        if path.exists():
            return path
    return None


def wait_delivered(data_dir: Path, message_id: str, within: float = 10) -> Path:
    """A message's file in the mail drop of ``data_dir``, once the outbox wrote it."""
    deadline = time.monotonic() + within
    while (path := _found(data_dir, message_id)) is None:
        assert time.monotonic() < deadline, f"message {message_id} was not delivered"
        time.sleep(0.02)
    return path


async def delivered_link(base_url: str, data_dir: Path, message_id: str) -> str:
    """The link a message was delivered with, for a server running on this event loop
    (waiting must not block the loop that delivers)."""
    async with asyncio.timeout(10):
        while (path := _found(data_dir, message_id)) is None:
            await asyncio.sleep(0.02)
    found = TOKEN.search(text_of(path))
    assert found, "no link in the delivered message"
    return f"{base_url}/j#{found.group(1)}"


def text_of(path: Path) -> str:
    """A delivered text's body, or a delivered email's plain part."""
    if path.suffix == ".txt":
        return path.read_text()
    mail = message_from_bytes(path.read_bytes(), policy=policy.default)
    assert isinstance(mail, EmailMessage)
    body = mail.get_body(("plain",))
    assert body is not None
    return str(body.get_content())  # type: ignore[attr-defined]


def delivered_token(data_dir: Path, message_id: str) -> str:
    """The link token a message was delivered with."""
    found = TOKEN.search(text_of(wait_delivered(data_dir, message_id)))
    assert found, "no link in the delivered message"
    return found.group(1)
