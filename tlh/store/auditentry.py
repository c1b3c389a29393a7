"""One audit log entry: its fields, its chain hash, and the ids-only rule for what goes in.

Each line of ``<data_dir>/audit/audit.jsonl`` is one entry, ids only, never PHI::

    {"seq":1,"at":"2026-03-10T09:00:00.000000Z","actor":{"kind":"staff","id":"stf_1",
     "role":"admin"},"source":"127.0.0.1","action":"client.read","target":"cli_x",
     "prev":"000…0","hash":"…"}

``hash`` is ``sha256(prev + canonical JSON of the entry without "hash")``, canonical
meaning msgspec's encoding with keys sorted and no whitespace; the first ``prev`` is
64 zeros. An entry that records a stored change also carries ``"commit": N``, the
store's commit it belongs to (absent on reads, and on entries written before commits
were numbered, so their hashes are unchanged). So editing a line breaks its hash, and deleting or reordering lines breaks
``seq`` and ``prev`` (deleting lines at the end is what ``tlh.store.audithead`` is for).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Protocol

import msgspec

from tlh.errors import InvalidInput

ZERO_HASH = "0" * 64
LOG_NAME = "audit.jsonl"

# Ids and dotted action names only: no spaces, "@" or "+" keeps names, emails and
# phone numbers out even if a caller passes the wrong field by mistake.
ID_SHAPE = re.compile(r"[A-Za-z0-9_.:-]{1,128}")
ACTION_SHAPE = re.compile(r"[a-z][a-z0-9_.-]{0,63}")
_SOURCE = re.compile(r"[A-Za-z0-9.:%\[\]_-]{0,64}")


class ActorLike(Protocol):
    """Who acted (``tlh.services.context.Actor`` fits; the store may not import it)."""

    @property
    def kind(self) -> str: ...
    @property
    def id(self) -> str: ...
    @property
    def role(self) -> str | None: ...
    @property
    def source(self) -> str: ...


class ActorRef(msgspec.Struct, forbid_unknown_fields=True):
    """The actor as stored: ids and role, never a name."""

    kind: str
    id: str
    role: str | None


class EntryBody(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """An entry without its hash: what the hash covers."""

    seq: int
    at: str
    actor: ActorRef
    source: str
    action: str
    target: str
    prev: str
    commit: int | None = None


class Entry(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """One line of the log, fields in the order they are written."""

    seq: int
    at: str
    actor: ActorRef
    source: str
    action: str
    target: str
    prev: str
    hash: str
    commit: int | None = None


_sorted = msgspec.json.Encoder(order="sorted")
#: Encodes entries (and the head) as written: fields in declaration order.
encoder = msgspec.json.Encoder()
entry_decoder = msgspec.json.Decoder(Entry)


def check_entries(action: str, targets: Sequence[str]) -> None:
    """Refuse an audit action or target that is not the shape of an id (so no name,
    email or other text of a person can reach the log)."""
    if isinstance(targets, str):
        raise TypeError("targets must be a sequence of ids, not one string")
    if not ACTION_SHAPE.fullmatch(action):
        raise InvalidInput("an audit action must be a dotted lower-case name")
    if not all(isinstance(t, str) and ID_SHAPE.fullmatch(t) for t in targets):
        raise InvalidInput("an audit target must be a record id")


def entry_hash(body: EntryBody) -> str:
    """The chain hash of an entry: sha256 of prev + its canonical JSON (hash excluded)."""
    return hashlib.sha256(body.prev.encode("ascii") + _sorted.encode(body)).hexdigest()


def body_of(e: Entry) -> EntryBody:
    """What ``e``'s hash covers."""
    return EntryBody(e.seq, e.at, e.actor, e.source, e.action, e.target, e.prev, e.commit)


def format_at(when: datetime) -> str:
    """Fixed-width UTC ISO time, so string order is time order."""
    if when.tzinfo is None:
        raise ValueError("audit times must be timezone-aware")
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def actor_ref(actor: ActorLike) -> ActorRef:
    """The actor as stored; refuses anything that is not an id (a name, an email)."""
    if not ID_SHAPE.fullmatch(actor.id) or not ACTION_SHAPE.fullmatch(actor.kind):
        raise InvalidInput("an audit actor must be identified by id")
    if not _SOURCE.fullmatch(actor.source or ""):
        raise InvalidInput("an audit source must be a network address")
    role = None if actor.role is None else str(actor.role)
    return ActorRef(kind=actor.kind, id=actor.id, role=role)
