"""Client portal cookie sessions (``__Host-tlh_portal``, issue 13).

Signing in gives a random session id (256 bits) for the cookie; only its SHA-256 is
stored (``PortalSession``), with whom it stands for (ids), so a restart signs nobody out.
A session ends after the policy's ``portal_idle_min`` without a request (the idle clock
is kept in memory: a session restored after a restart counts from the restart), on sign
out, on "sign out everywhere" (every session of that person) and when staff revoke
access (``tlh portal revoke``).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

from tlh.domain.live_records import PortalSeen, PortalSession
from tlh.errors import Unauthenticated
from tlh.services.context import SYSTEM, Actor, Context, new_id, utcnow
from tlh.services.portal_people import Person, Principal, acting_for
from tlh.store.base import Delete, Op, Put, note

log = logging.getLogger(__name__)
TABLE = PortalSession
SEEN = PortalSeen
#: The portal's session cookie (``__Host-``: Secure, Path=/, no Domain).
COOKIE = "__Host-tlh_portal"
#: The cookie lives as long as the browser keeps it; the idle limit ends it sooner.
COOKIE_MAX_AGE_S = 30 * 24 * 3600
_MIN_LEN, _MAX_LEN = 20, 100
SIGNED_OUT = "you are signed out; sign in again"


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def person_of(record: PortalSession) -> Person:
    """Whom a stored session stands for."""
    contacts = tuple(zip(record.contact_client_ids, record.contact_ids, strict=True))
    return Person(record.client_id, contacts, record.also_client_ids)


class PortalSessions:
    """Portal sessions: records in the store, their idle clocks in memory.

    ``clock`` is public so tests can move time; it must return aware UTC.
    """

    def __init__(self, clock: Callable[[], datetime] = utcnow) -> None:
        self.clock = clock
        self._seen: dict[str, datetime] = {}
        self._writes: set[asyncio.Task[None]] = set()

    async def open(self, ctx: Context, person: Person, who: Actor) -> str:
        """A new session for ``person``, stored with its ``portal.sign_in`` audit note and
        each person's last sign-in (idle sessions swept in the same commit); returns the
        session id (for the cookie)."""
        now = self.clock()
        session = secrets.token_urlsafe(32)
        record = PortalSession(
            id=new_id("pts"),
            hash=_digest(session),
            client_id=person.client_id,
            contact_ids=tuple(c for _, c in person.contacts),
            contact_client_ids=tuple(cid for cid, _ in person.contacts),
            also_client_ids=person.also_clients,
            created_at=now,
        )
        idle = await self._idle(ctx, now)
        ops: list[Op] = [
            Put(record),
            *(Put(PortalSeen(id=i, at=now)) for i in person.ids),
            *(Delete(TABLE, r.id) for r in idle),
        ]
        audit = [note(who, "portal.sign_in", record.id, *person.ids)]
        if idle:
            audit.append(note(SYSTEM, "portal.idle", *(r.id for r in idle)))
        await ctx.store.commit(ops, audit=audit)
        for gone in idle:
            self._seen.pop(gone.hash, None)
        self._seen[record.hash] = now
        return session

    async def _idle(self, ctx: Context, now: datetime) -> list[PortalSession]:
        """Stored sessions idle past the policy's limit (a session not seen since a
        restart counts from the restart), for sweeping: a session never used again must
        not stay in the store for ever."""
        limit = timedelta(minutes=ctx.policy().portal_idle_min)
        return [
            r for r in await self._records(ctx) if now - self._seen.setdefault(r.hash, now) >= limit
        ]

    async def record_of(self, ctx: Context, session: object) -> PortalSession | None:
        """The stored session behind a cookie value, if any (not refreshed)."""
        if not isinstance(session, str) or not _MIN_LEN <= len(session) <= _MAX_LEN:
            return None
        found = await ctx.store.find(TABLE, "hash", _digest(session))
        return found[0] if found and isinstance(found[0], PortalSession) else None

    async def principal(self, ctx: Context, session: object, source: str = "") -> Principal:
        """Who holds ``session``, refreshing its idle clock; ``Unauthenticated`` (401)
        for no session, an idle one (ended here) or one whose access was turned off."""
        record = await self.record_of(ctx, session)
        if record is None:
            raise Unauthenticated(SIGNED_OUT)
        now = self.clock()
        idle_min = ctx.policy().portal_idle_min
        last = self._seen.setdefault(record.hash, now)  # restored: counts from now
        if now - last >= timedelta(minutes=idle_min):
            self._end_later(ctx, [record], "portal.idle")
            # details.reason: the page says why in the person's language.
            raise Unauthenticated(
                f"signed out after {idle_min} minutes without activity", {"reason": "idle"}
            )
        person = person_of(record)
        client_ids = await acting_for(ctx, person)
        if not client_ids:
            raise Unauthenticated("portal access is off; ask your practice", {"reason": "revoked"})
        self._seen[record.hash] = now
        return Principal(person.kind, person.ids[0], person, client_ids, record.id, source)

    async def sign_out(self, ctx: Context, principal: Principal, *, everywhere: bool) -> int:
        """End this session, or every session of the same person (``everywhere``);
        returns how many ended."""
        records = [r for r in await self._records(ctx) if r.id == principal.session_id]
        if everywhere:
            records = await self.sessions_of(ctx, principal.person.ids)
        action = "portal.sign_out.everywhere" if everywhere else "portal.sign_out"
        await self._delete(ctx, records, principal.actor, action)
        return len(records)

    async def sessions_of(self, ctx: Context, person_ids: Iterable[str]) -> list[PortalSession]:
        """Every session standing for any of ``person_ids`` (client or contact ids)."""
        wanted = set(person_ids)
        return [
            r
            for r in await self._records(ctx)
            if r.client_id in wanted
            or wanted.intersection(r.contact_ids)
            or wanted.intersection(r.also_client_ids)
        ]

    async def end_for(self, ctx: Context, actor: Actor, person_ids: Iterable[str]) -> int:
        """End every session of these people (staff revoked access); returns how many."""
        ids = list(person_ids)
        records = await self.sessions_of(ctx, ids)
        await self._delete(ctx, records, actor, "portal.sessions.end")
        return len(records)

    async def aclose(self) -> None:
        """Wait for background deletions (server shutdown, before the store closes)."""
        while self._writes:
            await asyncio.gather(*self._writes, return_exceptions=True)

    async def _records(self, ctx: Context) -> list[PortalSession]:
        return await ctx.store.all(TABLE)

    async def _delete(
        self,
        ctx: Context,
        records: list[PortalSession],
        who: Actor,
        action: str,
        *,
        quiet: bool = False,
    ) -> None:
        """Delete session records, audited as ``who``'s ``action`` naming them."""
        for record in records:
            self._seen.pop(record.hash, None)
        if not records:
            return
        ids = [r.id for r in records]
        try:
            await ctx.store.commit([Delete(TABLE, i) for i in ids], audit=[note(who, action, *ids)])
        except Exception as exc:
            if not quiet:
                raise
            log.warning("portal session not deleted: %s", type(exc).__name__)

    def _end_later(self, ctx: Context, records: list[PortalSession], action: str) -> None:
        """End sessions from code that cannot wait for the store (an idle session)."""
        for record in records:
            self._seen.pop(record.hash, None)
        task = asyncio.get_running_loop().create_task(
            self._delete(ctx, records, SYSTEM, action, quiet=True)
        )
        self._writes.add(task)
        task.add_done_callback(self._writes.discard)
