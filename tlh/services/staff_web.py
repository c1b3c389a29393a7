"""Staff browser sign-in: one-time login tokens and idle-limited cookie sessions.

The clinician's call page never sees the staff API token. A staff member holding the
token asks for a one-time login token (``secrets.token_urlsafe(32)``, valid two
minutes, single use), which rides in the page URL's fragment; the page trades it for a
random session id kept in a cookie. Both are kept as SHA-256 only: login tokens in
memory (two minutes), sessions also in the store (``StaffPageSession``), so a restart
signs no page out. A session ends after the policy's ``idle_logoff_min`` without a
request or websocket message, except while its call socket is in a call (a quiet
50-minute session must not lock the clinician out mid-call). The idle clock is kept in
memory only: a session restored after a restart counts its idle time from the restart.

A sign-in lives no longer than the API token that asked for it: each login token and
session remembers that token's hash and the role its holder had, and stops counting
once the token is revoked (a new one issued, the staff member disabled) or the role
changes. A leaked token rotated away must not leave a page reading clients' records.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from tlh.domain.live_records import StaffPageSession
from tlh.domain.models import Role, Staff
from tlh.errors import Unauthenticated
from tlh.services import auth
from tlh.services.context import SYSTEM, Actor, Context, new_id, staff_actor, utcnow
from tlh.store.base import AuditNote, Delete, Op, Put, Repository, note

log = logging.getLogger(__name__)
TABLE = StaffPageSession

#: The staff page's session cookie (``__Host-``: Secure, Path=/, no Domain).
COOKIE = "__Host-tlh_staff"
#: How long a one-time login token may wait to be redeemed.
TOKEN_TTL = timedelta(minutes=2)
#: Tokens and session ids are 43 url-safe characters; far off that is not worth a lookup.
_MIN_LEN, _MAX_LEN = 20, 100


def _digest(secret: str) -> str:
    """SHA-256 hex of a token or session id (256 random bits: no salt or KDF needed)."""
    return hashlib.sha256(secret.encode()).hexdigest()


def _plausible(secret: object) -> bool:
    return isinstance(secret, str) and _MIN_LEN <= len(secret) <= _MAX_LEN


@dataclass(frozen=True)
class LoginGrant:
    """What a login token (and the session it is traded for) stands for (ids only)."""

    staff_id: str
    #: SHA-256 of the staff API token that asked for the link: the sign-in ends with it.
    token_hash: str
    #: The role the staff member had then: a role change ends the sign-in.
    role: Role
    appointment_id: str | None = None


@dataclass
class _Session:
    grant: LoginGrant
    last_seen: datetime
    #: The ``StaffPageSession`` record's id.
    record_id: str
    #: Open call sockets in a call: while above zero the session does not idle out.
    pins: int = 0


class StaffWeb:
    """One-time login tokens (in memory) and cookie sessions (in memory and the store) of
    staff browser pages.

    ``clock`` is a public attribute so tests can move time; it must return aware UTC.
    Sessions are written once the store is ``attach``-ed (at start-up).
    """

    def __init__(self, clock: Callable[[], datetime] = utcnow) -> None:
        self.clock = clock
        self._store: Repository | None = None
        self._tokens: dict[str, tuple[LoginGrant, datetime]] = {}
        self._sessions: dict[str, _Session] = {}
        #: Deletions of sessions ended where no one can wait (idle, a failed check).
        self._writes: set[asyncio.Task[None]] = set()

    async def attach(self, store: Repository) -> int:
        """Keep sessions in ``store`` and take back those it holds (a restart); returns
        how many came back. Their idle clock starts now."""
        self._store = store
        now = self.clock()
        for record in await store.all(TABLE):
            grant = LoginGrant(
                record.staff_id, record.token_hash, record.role, record.appointment_id
            )
            self._sessions[record.hash] = _Session(grant, now, record.id)
        return len(self._sessions)

    # -- one-time login tokens --------------------------------------------------

    def issue(self, grant: LoginGrant) -> tuple[str, datetime]:
        """A new one-time login token for ``grant`` and when it expires."""
        now = self.clock()
        for key in [k for k, (_, until) in self._tokens.items() if until <= now]:
            del self._tokens[key]
        token = secrets.token_urlsafe(32)
        expires = now + TOKEN_TTL
        self._tokens[_digest(token)] = (grant, expires)
        return token, expires

    def redeem(self, token: object) -> LoginGrant | None:
        """The grant behind a live token, consuming it; ``None`` for anything else."""
        if not _plausible(token):
            return None
        assert isinstance(token, str)
        # Popped before the expiry check: a token is spent by any attempt to use it.
        found = self._tokens.pop(_digest(token), None)
        if found is None or found[1] <= self.clock():
            return None
        return found[0]

    # -- cookie sessions ----------------------------------------------------------

    async def open(self, grant: LoginGrant, idle_min: int, who: Actor) -> str:
        """A new session for a redeemed ``grant``, stored with ``who``'s
        ``staff.web.login`` audit note (idle sessions swept in the same commit); returns
        the session id (for the cookie)."""
        now = self.clock()
        idle = [k for k, s in self._sessions.items() if self._idle(s, now, idle_min)]
        session = secrets.token_urlsafe(32)
        key = _digest(session)
        record = StaffPageSession(
            id=new_id("sps"),
            hash=key,
            staff_id=grant.staff_id,
            token_hash=grant.token_hash,
            role=grant.role,
            appointment_id=grant.appointment_id,
            created_at=now,
        )
        swept = [self._sessions.pop(k).record_id for k in idle]
        audit = [note(who, "staff.web.login", grant.staff_id, record.id)]
        if swept:
            audit.append(note(SYSTEM, "staff.web.idle", *swept))
        if self._store is not None:
            ops: list[Op] = [Put(record), *(Delete(TABLE, rid) for rid in swept)]
            await self._store.commit(ops, audit=audit)
        self._sessions[key] = _Session(grant, now, record.id)
        return session

    def grant_of(self, session: object, idle_min: int) -> LoginGrant:
        """The grant of a live session, refreshing it; ``Unauthenticated`` otherwise.

        ``idle_min`` < 1 turns the idle limit off.
        """
        key = _digest(session) if isinstance(session, str) and _plausible(session) else ""
        found = self._sessions.get(key)
        if found is None:
            raise Unauthenticated("signed out; open a new call link")
        now = self.clock()
        if self._idle(found, now, idle_min):
            self.drop(session)
            raise Unauthenticated(f"signed out after {idle_min} minutes idle")
        found.last_seen = now
        return found.grant

    def holder(self, session: object) -> LoginGrant | None:
        """The grant of an open session without refreshing it (idle ones included: the
        next request or frame signs those out)."""
        if not _plausible(session):
            return None
        found = self._sessions.get(_digest(str(session)))
        return found.grant if found is not None else None

    def pin(self, session: str) -> None:
        """A call socket of this session joined a call: no idle logoff until ``unpin``."""
        found = self._sessions.get(_digest(session))
        if found is not None:
            found.pins += 1

    def unpin(self, session: str) -> None:
        """The call socket left its call: the idle clock starts again from now."""
        found = self._sessions.get(_digest(session))
        if found is not None and found.pins > 0:
            found.pins -= 1
            found.last_seen = self.clock()

    async def close(self, session: object, source: str = "") -> str | None:
        """End a session (logout, audited ``staff.web.logout``); returns its staff id,
        ``None`` if there was none."""
        if not _plausible(session):
            return None
        found = self._sessions.pop(_digest(str(session)), None)
        if found is None:
            return None
        staff_id = found.grant.staff_id
        who = Actor(kind="staff", id=staff_id, source=source)
        logout = note(who, "staff.web.logout", staff_id, found.record_id)
        await self._delete([found.record_id], [logout])
        return staff_id

    def drop(self, session: object) -> None:
        """End a session now, from code that cannot wait for the store (idle, a sign-in
        that no longer holds); its record is deleted in the background."""
        if not _plausible(session):
            return
        found = self._sessions.pop(_digest(str(session)), None)
        if found is not None and self._store is not None:
            task = asyncio.get_running_loop().create_task(
                self._delete([found.record_id], [], quiet=True)
            )
            self._writes.add(task)
            task.add_done_callback(self._writes.discard)

    async def close_where(self, ended: Callable[[LoginGrant], Awaitable[bool]]) -> int:
        """End every session and unredeemed login token whose grant ``ended``; returns
        how many sessions ended."""
        for key in [k for k, (grant, _) in list(self._tokens.items()) if await ended(grant)]:
            self._tokens.pop(key, None)
        keys = [k for k, s in list(self._sessions.items()) if await ended(s.grant)]
        ids = [self._sessions.pop(key).record_id for key in keys if key in self._sessions]
        await self._delete(ids, [])
        return len(keys)

    async def aclose(self) -> None:
        """Wait for background deletions (server shutdown, before the store closes)."""
        while self._writes:
            await asyncio.gather(*self._writes, return_exceptions=True)

    @property
    def sessions(self) -> int:
        """How many sessions are open (idle ones not yet swept included)."""
        return len(self._sessions)

    def _idle(self, found: _Session, now: datetime, idle_min: int) -> bool:
        if idle_min < 1 or found.pins > 0:
            return False
        return now - found.last_seen >= timedelta(minutes=idle_min)

    async def _delete(self, ids: list[str], audit: list[AuditNote], *, quiet: bool = False) -> None:
        """Delete session records; ``audit`` says why (else ``staff.web.end``, by the
        system). ``quiet``: a failure is logged, not raised (nobody waits for it)."""
        if not ids or self._store is None:
            return
        named = {t for n in audit for t in n.targets}
        missing = [rid for rid in ids if rid not in named]
        notes = [*audit, note(SYSTEM, "staff.web.end", *missing)] if missing else audit
        try:
            await self._store.commit([Delete(TABLE, rid) for rid in ids], audit=notes)
        except Exception as exc:
            if not quiet:
                raise
            log.warning("staff page session not deleted: %s", type(exc).__name__)


async def signed_in_staff(ctx: Context, grant: LoginGrant) -> Staff | None:
    """The staff member ``grant`` still stands for: the token that asked for it is live
    and theirs, they are active, and their role is the one they had then; else ``None``."""
    staff = await auth.token_holder(ctx, grant.token_hash) if grant.token_hash else None
    if staff is None or staff.id != grant.staff_id or staff.role is not grant.role:
        return None
    return staff


async def end_signed_out(ctx: Context, staff_web: StaffWeb) -> int:
    """End the sessions and login tokens whose sign-in no longer holds (after a token,
    a role or an active flag changed); returns how many sessions ended."""

    async def ended(grant: LoginGrant) -> bool:
        return await signed_in_staff(ctx, grant) is None

    return await staff_web.close_where(ended)


async def session_actor(ctx: Context, staff_web: StaffWeb, session: object, source: str) -> Actor:
    """The staff member a cookie session acts as (see ``signed_in_staff``)."""
    grant = staff_web.grant_of(session, ctx.policy().idle_logoff_min)
    staff = await signed_in_staff(ctx, grant)
    if staff is None:
        staff_web.drop(session)
        raise Unauthenticated("signed out; open a new call link")
    return staff_actor(staff, source)
