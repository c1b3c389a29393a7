"""Transports deliver one rendered message. Contract (implementations fill it in).

``send`` returns the provider's id for the message, raises ``TransientError`` when a
retry may succeed (connection refused, timeout, SMTP 4xx, HTTP 429/5xx) and
``PermanentError`` when it will not (SMTP 5xx, HTTP 400, a certificate that does not
verify). Errors carry a one-line reason without the recipient's address.
"""

from __future__ import annotations

from typing import Protocol

from tlh.domain.messages import Message, MessageChannel


class TransientError(Exception):
    """Delivery failed for now; the outbox retries with backoff."""


class PermanentError(Exception):
    """Delivery cannot succeed; the outbox marks the message failed with this reason."""


class Transport(Protocol):
    channel: MessageChannel

    async def send(self, message: Message) -> str:
        """Deliver ``message``; return the provider's id (or a file name)."""
        ...

    async def close(self) -> None: ...
