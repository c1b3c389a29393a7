"""Staff browser sign-in: one-time login tokens and idle-limited cookie sessions.

The clinician's call page never sees the staff API token. A staff member holding the
token asks for a one-time login token (``secrets.token_urlsafe(32)``, valid two
minutes, single use), which rides in the page URL's fragment; the page trades it for a
random session id kept in a cookie. Both are kept in memory as SHA-256 only, so a
restart signs every page out. A session ends after the policy's ``idle_logoff_min``
without a request or websocket message, except while its call socket is in a call
(a quiet 50-minute session must not lock the clinician out mid-call).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from tlh.domain.models import Staff
from tlh.errors import Unauthenticated
from tlh.services.context import Actor, Context, utcnow

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
    """What a redeemed login token stands for (ids only)."""

    staff_id: str
    appointment_id: str | None = None


@dataclass
class _Session:
    staff_id: str
    last_seen: datetime
    #: Open call sockets in a call: while above zero the session does not idle out.
    pins: int = 0


class StaffWeb:
    """One-time login tokens and cookie sessions of staff browser pages, in memory.

    ``clock`` is a public attribute so tests can move time; it must return aware UTC.
    """

    def __init__(self, clock: Callable[[], datetime] = utcnow) -> None:
        self.clock = clock
        self._tokens: dict[str, tuple[LoginGrant, datetime]] = {}
        self._sessions: dict[str, _Session] = {}

    # -- one-time login tokens --------------------------------------------------

    def issue(self, staff_id: str, appointment_id: str | None = None) -> tuple[str, datetime]:
        """A new one-time login token for ``staff_id`` and when it expires."""
        now = self.clock()
        for key in [k for k, (_, until) in self._tokens.items() if until <= now]:
            del self._tokens[key]
        token = secrets.token_urlsafe(32)
        expires = now + TOKEN_TTL
        self._tokens[_digest(token)] = (LoginGrant(staff_id, appointment_id), expires)
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

    def open(self, staff_id: str, idle_min: int) -> str:
        """A new session for ``staff_id``; returns the session id (for the cookie)."""
        now = self.clock()
        self._sweep(now, idle_min)
        session = secrets.token_urlsafe(32)
        self._sessions[_digest(session)] = _Session(staff_id, now)
        return session

    def staff_of(self, session: object, idle_min: int) -> str:
        """The staff id of a live session, refreshing it; ``Unauthenticated`` otherwise.

        ``idle_min`` < 1 turns the idle limit off.
        """
        key = _digest(session) if isinstance(session, str) and _plausible(session) else ""
        found = self._sessions.get(key)
        if found is None:
            raise Unauthenticated("signed out; open a new call link")
        now = self.clock()
        if self._idle(found, now, idle_min):
            del self._sessions[key]
            raise Unauthenticated(f"signed out after {idle_min} minutes idle")
        found.last_seen = now
        return found.staff_id

    def holder(self, session: object) -> str | None:
        """The staff id of an open session without refreshing it (idle ones included:
        the next request or frame signs those out)."""
        if not _plausible(session):
            return None
        found = self._sessions.get(_digest(str(session)))
        return found.staff_id if found is not None else None

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

    def close(self, session: object) -> str | None:
        """End a session (logout); returns its staff id, ``None`` if there was none."""
        if not _plausible(session):
            return None
        found = self._sessions.pop(_digest(str(session)), None)
        return found.staff_id if found is not None else None

    def close_staff(self, staff_id: str) -> int:
        """End every session of one staff member (disabled); returns how many."""
        keys = [k for k, s in self._sessions.items() if s.staff_id == staff_id]
        for key in keys:
            del self._sessions[key]
        return len(keys)

    @property
    def sessions(self) -> int:
        """How many sessions are open (idle ones not yet swept included)."""
        return len(self._sessions)

    def _idle(self, found: _Session, now: datetime, idle_min: int) -> bool:
        if idle_min < 1 or found.pins > 0:
            return False
        return now - found.last_seen >= timedelta(minutes=idle_min)

    def _sweep(self, now: datetime, idle_min: int) -> None:
        for key in [k for k, s in self._sessions.items() if self._idle(s, now, idle_min)]:
            del self._sessions[key]


def session_actor(ctx: Context, staff_web: StaffWeb, session: object, source: str) -> Actor:
    """The staff member a cookie session acts as (an active staff record, its role)."""
    staff_id = staff_web.staff_of(session, ctx.policy().idle_logoff_min)
    staff = ctx.store.get("staff", staff_id)
    if not isinstance(staff, Staff) or not staff.active:
        staff_web.close(session)
        raise Unauthenticated("signed out; open a new call link")
    return Actor(kind="staff", id=staff.id, role=staff.role, source=source)
