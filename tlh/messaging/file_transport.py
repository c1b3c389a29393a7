"""The embedded default transport: every message becomes a file in the mail drop.

Emails are ``<mail drop>/<id>.eml`` (the same bytes SMTP would send), texts ``<id>.txt``.
The mail drop is delivered mail, live links in it, so it is a folder of its own beside
the data dir (``<data dir>-mail`` unless ``[messaging] mail_dir`` says otherwise), never
inside it: a copy or a backup of the data dir holds no delivered message. Each file
appears atomically (``tlh.files.write_atomic``: temp file, fsync, rename; mode 0600, as
messages name clients), so ``tlh outbox show`` never sees half of one.
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


def mail_drop_dir(data_dir: Path, configured: str | None = None) -> Path:
    """Where the file transports write: ``configured`` (``[messaging] mail_dir``), else
    ``<data dir>-mail`` beside the data dir."""
    if configured:
        return Path(configured).expanduser()
    absolute = data_dir.expanduser().absolute()
    return absolute.with_name(f"{absolute.name}-mail")


class FileTransport:
    """Writes each message of one channel as a file in ``directory`` (the mail drop);
    the file name is the provider id."""

    def __init__(
        self, channel: MessageChannel, directory: Path, from_address: str = DEFAULT_FROM
    ) -> None:
        self.channel = channel
        self.directory = directory
        self.from_address = from_address

    def _render(self, message: Message) -> tuple[str, bytes]:
        if message.channel is MessageChannel.EMAIL:
            return f"{message.id}.eml", email_bytes(message, self.from_address)
        return f"{message.id}.txt", build_sms_file(message).encode("utf-8")

    def _write(self, name: str, data: bytes) -> None:
        # Owner only: delivered messages carry live links and name clients.
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
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
