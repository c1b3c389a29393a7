"""The text of one notification between servers (``PgChannel``'s format).

``<server id> <seq> <kind> <topic> <body>``: ``kind`` is ``t`` (the payload as UTF-8
text), ``b`` (base64: not text) or ``s`` (spilled: the body is the id of the
``tlh_notify_spill`` row holding the payload). PostgreSQL refuses a NOTIFY payload of
``NOTIFY_LIMIT`` bytes or more, so a payload that would not fit is spilled.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Final

#: PostgreSQL refuses a NOTIFY payload of this many bytes or more (the default build).
NOTIFY_LIMIT: Final = 8000
TEXT, BASE64, SPILLED = "t", "b", "s"


@dataclass(frozen=True, slots=True)
class Notice:
    """One notification as read: who sent it, its place in their order, and what."""

    origin: str
    seq: int
    kind: str
    topic: str
    body: str


def inline(server_id: str, seq: int, topic: str, payload: bytes, utf8: bool) -> str | None:
    """The notification carrying ``payload`` itself, or ``None`` when it must spill.
    ``utf8``: the database's encoding is UTF-8 (else only ASCII goes as text)."""
    try:
        text: str | None = payload.decode()
    except UnicodeDecodeError:
        text = None
    # NUL ends a string in PostgreSQL; another encoding than UTF-8 may not hold the rest.
    if text is not None and "\x00" not in text and (utf8 or text.isascii()):
        kind, body, size = TEXT, text, len(payload)
    else:
        kind, body = BASE64, base64.b64encode(payload).decode("ascii")
        size = len(body)
    head = f"{server_id} {seq} {kind} {topic} "
    if len(head.encode()) + size >= NOTIFY_LIMIT:
        return None
    return head + body


def spilled_head(server_id: str, seq: int, topic: str) -> str:
    """The notification of a spilled payload, but for the row id (appended in SQL)."""
    return f"{server_id} {seq} {SPILLED} {topic} "


def parse(text: str) -> Notice | None:
    """The notice ``text`` is, or ``None`` if it is not one of ours (never raises)."""
    parts = text.split(" ", 4)
    if len(parts) != 5 or not parts[1].isdigit():
        return None
    origin, seq, kind, topic, body = parts
    if kind not in (TEXT, BASE64, SPILLED) or (kind == SPILLED and not body.isdigit()):
        return None
    if kind == BASE64:
        try:
            base64.b64decode(body, validate=True)
        except binascii.Error:
            return None
    return Notice(origin, int(seq), kind, topic, body)


def payload_of(notice: Notice) -> bytes:
    """The payload a ``t`` or ``b`` notice carries (``parse`` checked it)."""
    if notice.kind == TEXT:
        return notice.body.encode()
    return base64.b64decode(notice.body)
