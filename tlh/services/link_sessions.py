"""Redeemed links' cookie sessions, kept in the store so a restart signs nobody out.

Redeeming a link token gives a random session id (256 bits) for the page's cookie; only
its SHA-256 is stored (``LinkSession``), with the link it stands for and when it ends.
Expired sessions are swept now and then, in the commit of a new one.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from tlh.domain.live_records import LinkSession
from tlh.services.context import SYSTEM, Actor, Context, new_id
from tlh.services.links import hash_link_token
from tlh.store.base import AuditNote, Delete, Op, Put, note

TABLE = LinkSession
#: Sweep expired sessions on every this-many-th redemption, not on each.
_SWEEP_EVERY = 256


class LinkSessions:
    """Redeemed links' sessions: hash of a random session id → link id, until ``ttl_s``."""

    def __init__(self, ctx: Context, ttl_s: float = 2 * 3600) -> None:
        self.ctx = ctx
        self.ttl_s = ttl_s
        self._opened = 0

    async def open(self, link_id: str, who: Actor) -> str:
        """A new session for ``link_id``, stored (and the redemption audited as ``who``'s
        ``link.redeem``) in one commit; returns the session id (for the cookie)."""
        now = self.ctx.clock()
        session = secrets.token_urlsafe(32)
        record = LinkSession(
            id=new_id("lss"),
            hash=hash_link_token(session),
            link_id=link_id,
            created_at=now,
            expires_at=now + timedelta(seconds=self.ttl_s),
        )
        ops: list[Op] = [Put(record)]
        audit: list[AuditNote] = [note(who, "link.redeem", link_id, record.id)]
        self._opened += 1
        if self._opened % _SWEEP_EVERY == 0:
            ended = [s.id for s in await self.ctx.store.all(TABLE) if s.expires_at <= now]
            if ended:
                ops += [Delete(TABLE, sid) for sid in ended]
                audit.append(note(SYSTEM, "link.session.expire", *ended))
        await self.ctx.store.commit(ops, audit=audit)
        return session

    async def link_id(self, session: str | None) -> str | None:
        """The link id of a live session, else ``None``."""
        if not session or len(session) > 100:
            return None
        found = await self.ctx.store.find(TABLE, "hash", hash_link_token(session))
        record = found[0] if found else None
        if record is None or record.expires_at <= self.ctx.clock():
            return None
        return record.link_id
