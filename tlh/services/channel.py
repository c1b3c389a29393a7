"""What the services need to reach the other servers: a channel of topics and payloads.

Several ``tlh serve`` processes share one store; what happens on one (an event, later a
signalling frame) must reach the others. The services speak to this protocol only; the
PostgreSQL backend implements it with LISTEN/NOTIFY (``tlh.store.pg.notify.PgChannel``),
so the services never import the database driver.

A channel delivers what *other* servers send, each server's messages in the order it
sent them, never a server's own (it has delivered those itself, without a round trip).
When it cannot promise that nothing was lost (its connection dropped, a sender had to
drop messages), it says so once through the gap handlers: a consumer then resyncs
from the store, as a dashboard does after ``events.overflow``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol


class Channel(Protocol):
    """Messages to and from the other servers sharing this server's store."""

    @property
    def server_id(self) -> str:
        """This server's id: what the other servers' channels see as the sender."""
        ...

    def on(self, topic: str, handler: Callable[[bytes], None]) -> None:
        """Call ``handler`` with each payload another server sends on ``topic``, in
        order (one topic, one handler)."""
        ...

    def on_gap(self, handler: Callable[[], None]) -> None:
        """Call ``handler`` when messages from other servers may have been missed."""
        ...

    def post(self, topic: str, payload: bytes) -> None:
        """Send ``payload`` to the other servers; returns at once (never waits for the
        network), the channel sends in the background, in order."""
        ...

    async def close(self) -> None:
        """Stop sending and receiving (server shutdown)."""
        ...
