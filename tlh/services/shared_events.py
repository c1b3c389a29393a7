"""The event bus of several servers: ``SharedEventBus``, an ``EventBus`` that also sends.

Several ``tlh serve`` processes share one store; a staff member's dashboard may be on
any of them. ``publish`` hands the event to this server's subscribers at once, exactly
as the in-process bus does (the hot path, hello -> staff ``room.joined``, never waits
for the network), then posts it on a ``Channel`` to the other servers. An event
received from another server is handed to this server's subscribers only (marked
``remote``: never sent on again, and not to ``local_only`` subscribers such as the
hooks, which run once, where the event happened).

On the wire an event is its type, time, data, audience and what it shows (``shown``),
as msgspec JSON; the frames cached for the staff sockets are not sent. Data goes as
JSON: a remote subscriber gets JSON values (a date as its ISO text), which is what the
staff sockets send anyway.

When the channel says messages may have been lost (its connection dropped), every
subscriber that takes remote events is told it missed events (``events.overflow``),
so dashboards reload and followers look again, as after a slow subscriber's overflow.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any, Final

import msgspec

from tlh.domain.audience import Audience, Shown
from tlh.services.channel import Channel
from tlh.services.context import utcnow
from tlh.services.events import Event, EventBus

log = logging.getLogger(__name__)

#: The channel topic of events.
TOPIC: Final = "events"


class _Wire(msgspec.Struct, frozen=True, array_like=True):
    """An event as sent to the other servers."""

    type: str
    at: datetime
    data: dict[str, Any]
    audience: Audience
    shown: Shown | None = None


_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(_Wire)


def encode(event: Event) -> bytes:
    """``event`` as sent to the other servers."""
    return _encoder.encode(_Wire(event.type, event.at, event.data, event.audience, event.shown))


def decode(payload: bytes) -> Event:
    """The event another server sent (``msgspec.ValidationError``/``DecodeError`` when
    it is not one)."""
    wire = _decoder.decode(payload)
    return Event(
        type=wire.type,
        at=wire.at,
        data=wire.data,
        audience=wire.audience,
        shown=wire.shown,
        remote=True,
    )


class SharedEventBus(EventBus):
    """An ``EventBus`` whose events also reach the subscribers of the other servers."""

    def __init__(self, channel: Channel, clock: Callable[[], datetime] = utcnow) -> None:
        super().__init__(clock)
        self._channel = channel
        #: Events received from other servers, and those that could not be read.
        self.received = 0
        self.unreadable = 0
        channel.on(TOPIC, self._received)
        channel.on_gap(self._missed)

    def publish(
        self, type: str, data: dict[str, Any], audience: Audience, shown: Shown | None = None
    ) -> None:
        """Hand the event to this server's subscribers now, then send it to the others."""
        event = Event(type=type, at=self._clock(), data=data, audience=audience, shown=shown)
        self.deliver(event)
        try:
            payload = encode(event)
        except (TypeError, msgspec.EncodeError) as exc:
            # A programming error (data msgspec cannot encode), not the network's.
            log.error("event %s not sent to the other servers: %s", type, exc)
            return
        self._channel.post(TOPIC, payload)

    def _received(self, payload: bytes) -> None:
        try:
            event = decode(payload)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            self.unreadable += 1
            log.warning("an event from another server could not be read: %s", exc)
            return
        self.received += 1
        self.deliver(event)

    def _missed(self) -> None:
        now = self._clock()
        for sub in list(self._subs):
            if not sub.local_only:
                sub.missed(now)
