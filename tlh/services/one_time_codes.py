"""One-time codes (the portal's sign-in, a link's identity check), made when they are sent.

Asking for a code opens an *entry* for what the code opens (its subject: one address's
portal sign-in, one link's identity check) and queues a message that holds
``CODE_PLACEHOLDER`` and the entry's id (``Message.code_id``). The outbox makes the code
when it hands that message to a transport (``issue``) and keeps only its digest: here,
in memory (``OneTimeCodes``, one server), or in the shared database (several servers:
``tlh.store.pg.ephemeral``, a keyed digest); the code itself goes to the transport and
nowhere else. So no code is ever written (store, journal, backup); each attempt makes a fresh one and a failed attempt's
code dies (``void``), so only the code of the message that left works; and a request
never sent (an unknown address, a message that failed) leaves no code that works.

A new request for the same subject replaces its entry: the old code dies, and a message
still queued for the old entry is not sent. A restart forgets every entry kept in memory, as
it always forgot codes: whoever was waiting asks for a new one. The table lives on the ``Context``
because the outbox worker, which makes the codes, and the services that check them share
nothing else.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

#: Entries kept at once (the oldest are forgotten first, their codes with them).
MAX_ENTRIES = 20_000


@dataclass
class _Entry:
    subject: str
    ttl: timedelta
    #: The checker's clock: a code's life is measured where it is checked.
    clock: Callable[[], datetime]
    code_hash: str | None = None
    expires: datetime | None = None


def _code_hash(subject: str, code: str) -> str:
    # Bound to the subject, so one address's or link's code never opens another's.
    return hashlib.sha256(f"{subject}:{code}".encode()).hexdigest()


class OneTimeCodes:
    """Open code entries by id, and which one is current for each subject (hashes only)."""

    def __init__(self, limit: int = MAX_ENTRIES) -> None:
        self.limit = limit
        self._entries: dict[str, _Entry] = {}  # by entry id, oldest first
        self._current: dict[str, str] = {}  # subject -> its entry's id

    async def open(self, subject: str, ttl: timedelta, clock: Callable[[], datetime]) -> str:
        """A new entry for ``subject`` (its codes valid ``ttl`` from when each is made,
        by ``clock``: the one ``check`` is given the time of), replacing any: the old
        code dies. Its id goes on the message (``code_id``)."""
        self._drop(self._current.get(subject))
        while len(self._entries) >= self.limit:
            self._drop(next(iter(self._entries)))
        entry_id = f"otc_{secrets.token_urlsafe(9)}"
        self._entries[entry_id] = _Entry(subject, ttl, clock)
        self._current[subject] = entry_id
        return entry_id

    async def pending(self, entry_id: str) -> bool:
        """Whether ``entry_id`` still stands (not replaced, used, forgotten)."""
        return entry_id in self._entries

    async def issue(self, entry_id: str) -> str | None:
        """A fresh 6-digit code for ``entry_id``, valid from now for the entry's ``ttl``;
        any code made for it before dies. ``None`` when the entry is gone."""
        entry = self._entries.get(entry_id)
        if entry is None:
            return None
        code = f"{secrets.randbelow(1_000_000):06d}"
        entry.code_hash, entry.expires = _code_hash(entry.subject, code), entry.clock() + entry.ttl
        return code

    async def void(self, entry_id: str) -> None:
        """The code made for ``entry_id`` dies (its message did not leave); the entry
        stays, so a retry of the message makes a new one."""
        entry = self._entries.get(entry_id)
        if entry is not None:
            entry.code_hash = entry.expires = None

    async def check(self, subject: str, code: str, now: datetime) -> bool:
        """Whether ``code`` is ``subject``'s current code and not expired at ``now``; a
        right one is used up (its entry closed). Tries are the caller's to count."""
        entry_id = self._current.get(subject)
        entry = self._entries.get(entry_id) if entry_id is not None else None
        if entry is None or entry.code_hash is None or entry.expires is None:
            return False
        right = hmac.compare_digest(entry.code_hash, _code_hash(subject, code))
        if not right or now >= entry.expires:
            return False
        self._drop(entry_id)
        return True

    def _drop(self, entry_id: str | None) -> None:
        entry = self._entries.pop(entry_id, None) if entry_id is not None else None
        if entry is not None and self._current.get(entry.subject) == entry_id:
            del self._current[entry.subject]
