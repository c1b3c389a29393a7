"""Sent messages' bodies, kept compressed in the embedded store's memory.

A visit's trail stays in memory for this month and the last (``tlh.store.partitions``),
and most of it is the rendered messages: an invitation or a reminder email holds a text
body, an HTML body and an .ics, about 4,400 characters. Once a message is sent (or
failed, or skipped) its bodies are read only by someone looking back at it, so memory
keeps them as one zlib stream instead, compressed against the shipped templates'
wording: about 330 bytes, packed in 10 us and unpacked in 5 us. Measured with the
Python heap's tracer on a reminder email with its .ics: 5.6 kB of memory a message
before, 1.7 kB packed (its other fields and its index entries are the rest). A
practice's own templates compress a little less.

The packed form lives in memory only. A record goes in through ``pack`` (a commit, a
month loaded or taken in) and out through ``unpack`` (every read, and
``tlh.store.layout.encode_table_file``, which writes table files and backups), so callers,
files, backups and the journal see the message as it was stored. The packed record is
the message with its ``text`` holding the compressed bytes (as Latin-1, one byte a
character), ``html`` the module's own ``PACKED`` string (told apart by identity, so no
stored message can look packed) and no ``ics``; its other fields, which the indexes,
the month split and the outbox read, are the message's own.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable
from functools import cache
from typing import TypeVar

import msgspec

from tlh.domain.messages import TOKEN_PLACEHOLDER, Message, MessageStatus
from tlh.messaging.templates import default_templates_dir

#: The table whose records are packed.
MESSAGES = "messages"
#: Statuses after which nothing sends the message again: its bodies are only looked at.
DONE = frozenset({MessageStatus.SENT, MessageStatus.FAILED, MessageStatus.SKIPPED})
#: Bodies shorter than this (a text message) stay as they are: too little to gain.
SMALLEST = 512
#: zlib's fastest level, a 16 kB window (the dictionary and a message) and less than the
#: most memory for its state: 9.5 us a message from a primed copy (``_compressor``).
LEVEL = 1
WINDOW_BITS = 14
MEMORY_LEVEL = 6
#: Half the window: the other half looks back over the message itself.
DICTIONARY_BYTES = 8 << 10

#: Stands in ``html`` of a packed message; a string made at run time, so no stored or
#: decoded message holds this very object.
PACKED = "".join(["\0", "tlh:packed-bodies", "\0"])

_bodies = msgspec.msgpack.Encoder()
_unbodies = msgspec.msgpack.Decoder(tuple[str, str | None, str | None])

S = TypeVar("S", bound=msgspec.Struct)

#: The shipped templates whose wording the dictionary holds, in the order that packed a
#: rendered invitation and reminder smallest (7.6 kB with the .ics below).
_WORDING = (
    "reminder_24h.email.html",
    "invitation.email.html",
    "invitation.email.txt",
    "reminder_24h.email.txt",
)
#: The shape of every .ics the server writes (``tlh.messaging.ics``), and the stand-in for
#: a link's token that every stored message holds.
_ICS = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//tlh//telehealth appointments//EN\r\n"
    "METHOD:REQUEST\r\nX-WR-TIMEZONE:\r\nBEGIN:VTIMEZONE\r\nTZID:\r\nCOMMENT:This timezone"
    " only works from \r\nBEGIN:DAYLIGHT\r\nDTSTART:T000000\r\nTZNAME:\r\nTZOFFSETFROM:-0400"
    "\r\nTZOFFSETTO:-0400\r\nEND:DAYLIGHT\r\nBEGIN:STANDARD\r\nDTSTART:T020000\r\nRDATE:"
    "T020000,\r\nTZNAME:\r\nTZOFFSETFROM:-0400\r\nTZOFFSETTO:-0500\r\nEND:STANDARD\r\n"
    "END:VTIMEZONE\r\nBEGIN:VEVENT\r\nSUMMARY:Video appointment with \r\nDTSTART;TZID="
    "\r\nDTEND;TZID=\r\nDTSTAMP:\r\nUID:@tlh\r\nSEQUENCE:0\r\nDESCRIPTION:Video appointment"
    " with \\n\\nJoin: https://\\n\\nThe link opens a few minutes before the start. Please do"
    " not share it.\r\nLOCATION:https://\r\nSTATUS:CONFIRMED\r\nURL:https://\r\nEND:VEVENT"
    "\r\nEND:VCALENDAR\r\n" + TOKEN_PLACEHOLDER
)


@cache
def _dictionary() -> bytes:
    """The shipped wording a message is compressed against (in memory only, so it may
    change between versions of tlh)."""
    folder = default_templates_dir()
    text = b"".join((folder / name).read_bytes() for name in _WORDING) + _ICS.encode()
    return text[-DICTIONARY_BYTES:]


@cache
def _compressor() -> zlib._Compress:
    """A compressor primed with the dictionary: each message packs with a copy of it
    (12 us of the 21 a fresh one took went on taking in the dictionary)."""
    return zlib.compressobj(LEVEL, zlib.DEFLATED, WINDOW_BITS, MEMORY_LEVEL, zdict=_dictionary())


def is_packed(record: msgspec.Struct) -> bool:
    """Whether ``record`` is a message in its packed form."""
    return isinstance(record, Message) and record.html is PACKED


def pack(table: str, record: S) -> S:
    """``record`` as memory keeps it: a sent message's bodies compressed, any other
    record as it is."""
    if table != MESSAGES or not isinstance(record, Message) or record.status not in DONE:
        return record
    if record.html is PACKED:
        return record
    size = len(record.text) + len(record.html or "") + len(record.ics or "")
    if size < SMALLEST:
        return record
    squeeze = _compressor().copy()
    raw = _bodies.encode((record.text, record.html, record.ics))
    packed = squeeze.compress(raw) + squeeze.flush()
    shell = msgspec.structs.replace(record, text=packed.decode("latin-1"), html=PACKED, ics=None)
    return shell


def unpack(record: S) -> S:
    """The record as it was stored (the message with its bodies, when packed)."""
    if not isinstance(record, Message) or record.html is not PACKED:
        return record
    loosen = zlib.decompressobj(WINDOW_BITS, zdict=_dictionary())
    text, html, ics = _unbodies.decode(loosen.decompress(record.text.encode("latin-1")))
    whole = msgspec.structs.replace(record, text=text, html=html, ics=ics)
    return whole


def unpack_all(table: str, records: Iterable[S]) -> list[S]:
    """``records`` of ``table`` as they were stored."""
    if table != MESSAGES:
        return list(records)
    return [unpack(r) for r in records]
