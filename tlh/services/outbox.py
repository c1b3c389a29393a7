"""The durable outbox: messages are stored before they are sent, and sent at most once."""

from __future__ import annotations

from collections.abc import Sequence

from tlh.domain.messages import Message
from tlh.services.context import Actor, Context


async def enqueue(ctx: Context, actor: Actor, messages: Sequence[Message]) -> list[Message]:
    """Store ``messages`` as queued in one commit (skipping any whose idempotency key is
    already in the outbox: those are returned as stored), audit, and wake the worker.
    """
    raise NotImplementedError
