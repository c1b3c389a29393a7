"""The embedded default transport: every message becomes a file under the data dir.

Emails are ``<data_dir>/outbox/<id>.eml`` (the same bytes SMTP would send), texts
``<id>.txt``. Each file appears atomically (``tlh.files.write_atomic``: temp file, fsync,
rename; mode 0600, as messages name clients), so ``tlh outbox show`` never sees half of one.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from tlh.domain.messages import Message, MessageChannel
from tlh.files import write_atomic
from tlh.messaging.errors import PermanentError, TransientError
from tlh.messaging.mime import build_sms_file, email_bytes

#: The From address of file-transport emails when no SMTP section gives one.
DEFAULT_FROM = "tlh@localhost"
#: How a message's ``provider_id`` says it was written to a file, not sent: ``file:<path>``
#: (what ``tlh outbox`` shows as "written to <folder>").
PROVIDER_PREFIX = "file:"


def outbox_dir(data_dir: Path) -> Path:
    """Where the file transport writes (``tlh outbox show`` reads here too)."""
    return data_dir / "outbox"


class FileTransport:
    """Writes each message of one channel as a file; the file name is the provider id."""

    def __init__(
        self, channel: MessageChannel, data_dir: Path, from_address: str = DEFAULT_FROM
    ) -> None:
        self.channel = channel
        self.directory = outbox_dir(data_dir)
        self.from_address = from_address

    def _render(self, message: Message) -> tuple[str, bytes]:
        if message.channel is MessageChannel.EMAIL:
            return f"{message.id}.eml", email_bytes(message, self.from_address)
        return f"{message.id}.txt", build_sms_file(message).encode("utf-8")

    def _write(self, name: str, data: bytes) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        write_atomic(self.directory / name, data)

    async def send(self, message: Message) -> str:
        """Write ``message`` to its file; return ``file:<its path>``."""
        if message.channel is not self.channel:
            raise PermanentError(f"the {self.channel} file transport got a {message.channel}")
        # Ids come from ``new_id`` (URL-safe), but a path separator must never slip in.
        if "/" in message.id or message.id.startswith("."):
            raise PermanentError("message id is not a safe file name")
        name, data = self._render(message)
        try:
            await asyncio.to_thread(self._write, name, data)
        except OSError as exc:
            # A full disk or a permission problem may be fixed by the admin: retry later.
            raise TransientError(f"cannot write the outbox file: {exc.strerror}") from None
        return f"{PROVIDER_PREFIX}{self.directory / name}"

    async def close(self) -> None:
        """Nothing to release."""
