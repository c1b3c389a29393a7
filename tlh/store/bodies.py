"""Sent messages' bodies, kept compressed by the embedded store, in memory and in its files.

A visit's trail stays in memory for this month (``tlh.store.partitions``),
and most of it is the rendered messages: an invitation or a reminder email holds a text
body, an HTML body and an .ics, about 4,400 characters. Once a message is sent (or
failed, or skipped) its bodies are read only by someone looking back at it, so the store
keeps them as one zlib stream, compressed against a dictionary of the shipped templates'
wording: about 330 bytes, packed in 10 us and unpacked in 5 us. Measured with the Python
heap's tracer on a reminder email with its .ics: 5.6 kB of memory a message before,
1.7 kB packed (its other fields and its index entries are the rest). A month's file of
messages shrinks about as much, so a start-up reads, opens and decodes a fifth of it.

A record goes in through ``pack`` (a commit, a month loaded or taken in: one from a file
written before is packed then) and out through ``unpack`` (every read the store answers,
from memory or from a month on disk, and ``month_by_month``), so callers, the journal and
``tlh store migrate`` see the message as it was given. Files and backups hold the packed
form (schema version 4: an older tlh refuses the dir). The packed record is the message
with ``text`` holding the stream (base64), ``html`` the marker ``PACKED`` (which names
the dictionary) and no ``ics``; its other fields, which the indexes, the month split and
the outbox read, are the message's own.

The dictionary (``packed_bodies_1.zdict``: the shipped English invitation and 24-hour
reminder, text and HTML, as of December 2026, and the shape of an .ics) is frozen: every
stored stream needs it. Better wording for a new one goes in a new file, with its own
number in the marker, and this one stays to read what it packed.
"""

from __future__ import annotations

import binascii
import zlib
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import TypeVar

import msgspec

from tlh.domain.messages import Message, MessageStatus

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

#: Stands in ``html`` of a packed message and names its dictionary (no HTML body the
#: templates render holds a NUL).
PACKED = "\0tlh:packed-bodies:1\0"
DICTIONARY = "packed_bodies_1.zdict"

_bodies = msgspec.msgpack.Encoder()
_unbodies = msgspec.msgpack.Decoder(tuple[str, str | None, str | None])

S = TypeVar("S", bound=msgspec.Struct)


@cache
def _dictionary() -> bytes:
    """The frozen dictionary the packed streams were made with (see the module doc)."""
    return (Path(__file__).parent / DICTIONARY).read_bytes()


@cache
def _compressor() -> zlib._Compress:
    """A compressor primed with the dictionary: each message packs with a copy of it
    (12 us of the 21 a fresh one took went on taking in the dictionary)."""
    return zlib.compressobj(LEVEL, zlib.DEFLATED, WINDOW_BITS, MEMORY_LEVEL, zdict=_dictionary())


def is_packed(record: msgspec.Struct) -> bool:
    """Whether ``record`` is a message in its packed form."""
    return isinstance(record, Message) and record.html == PACKED


def pack(table: str, record: S) -> S:
    """``record`` as memory keeps it: a sent message's bodies compressed, any other
    record as it is."""
    if table != MESSAGES or not isinstance(record, Message) or record.status not in DONE:
        return record
    if is_packed(record):
        return record
    size = len(record.text) + len(record.html or "") + len(record.ics or "")
    if size < SMALLEST:
        return record
    squeeze = _compressor().copy()
    raw = _bodies.encode((record.text, record.html, record.ics))
    packed = squeeze.compress(raw) + squeeze.flush()
    text = binascii.b2a_base64(packed, newline=False).decode("ascii")
    shell = msgspec.structs.replace(record, text=text, html=PACKED, ics=None)
    return shell


def packed_part(table: str, part: dict[str, S]) -> dict[str, S]:
    """A month's records of ``table`` (id -> record) as memory keeps them: ``pack`` of
    each, in a new dict for messages (``part`` may be a cache's, not to be changed)."""
    if table != MESSAGES:
        return part
    return {rid: pack(table, rec) for rid, rec in part.items()}


def unpack(record: S) -> S:
    """The record as it was stored (the message with its bodies, when packed)."""
    if not isinstance(record, Message) or record.html != PACKED:
        return record
    loosen = zlib.decompressobj(WINDOW_BITS, zdict=_dictionary())
    stream = binascii.a2b_base64(record.text)
    text, html, ics = _unbodies.decode(loosen.decompress(stream) + loosen.flush())
    whole = msgspec.structs.replace(record, text=text, html=html, ics=ics)
    return whole


def unpack_all(table: str, records: Iterable[S]) -> list[S]:
    """``records`` of ``table`` as they were stored."""
    if table != MESSAGES:
        return list(records)
    return [unpack(r) for r in records]
