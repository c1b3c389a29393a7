"""A waiting person's answers to the clinician's messages: short, few, kept on the entry.

Messages were one-way; a person waiting can now say "I'm here, 2 minutes" back. Pure
rules (the time is passed in); the waiting rooms apply them and audit each answer.
"""

from __future__ import annotations

import unicodedata
from datetime import datetime, timedelta

from msgspec.structs import replace

from tlh.domain.rooms import LIVE_STATES, Reply, RoomEntry
from tlh.errors import Conflict, InvalidInput, InvalidTransition

#: A waiting person's answer: at most this long, at most ``REPLY_BURST`` a minute.
MAX_REPLY = 300
REPLY_BURST = 3
KEPT_REPLIES = 5


class TooManyReplies(Conflict):
    """More replies than ``REPLY_BURST`` in a minute."""

    code = "rate_limited"


def reply(entry: RoomEntry, text: str, now: datetime) -> RoomEntry:
    """The entry with the person's answer to the clinician kept (the latest few).

    ``InvalidInput`` when empty or too long; ``TooManyReplies`` past the burst.
    """
    if entry.state not in LIVE_STATES:
        raise InvalidTransition(f"entry {entry.id} cannot answer: it is {entry.state}")
    printable = "".join(" " if unicodedata.category(ch)[0] == "C" else ch for ch in text)
    clean = " ".join(printable.split())
    if not clean:
        raise InvalidInput("a reply needs some text")
    if len(clean) > MAX_REPLY:
        raise InvalidInput(f"a reply is at most {MAX_REPLY} characters")
    recent = [r for r in entry.replies if now - r.at < timedelta(minutes=1)]
    if len(recent) >= REPLY_BURST:
        raise TooManyReplies("please wait a moment before sending another message")
    kept = (*entry.replies, Reply(text=clean, at=now))[-KEPT_REPLIES:]
    return replace(entry, replies=kept)
