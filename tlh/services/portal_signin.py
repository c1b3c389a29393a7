"""Signing in to the client portal with a one-time code (issue 13).

The client types an email address or a mobile number; a 6-digit code goes to it through
the outbox, valid ``CODE_TTL``, ``MAX_TRIES`` wrong answers per address, then none for ``LOCK_WINDOW``.
Whether the address is known never shows: the request is answered before anything is
looked up (the lookup, the code's entry and the message happen in a background task,
the same work either way but the outbox commit), and an unknown address gets an entry
too, one whose code is never made. The code itself is made when the outbox hands the
message to the transport (``tlh.services.one_time_codes``): never stored, only its
digest kept, in memory (a restart forgets it: ask for a new one) or, when several servers
share the store, in its database, as are the wrong answers per address
(``tlh.services.ephemeral``): a code sent by one server is taken on any, and tries
spread over the servers add up. Rate limits per address and per network address are
the server's (``tlh.server.routes.portal``).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

import msgspec

from tlh.domain.messages import CODE_PLACEHOLDER, MessageChannel, MessageKind
from tlh.errors import RateLimited, Unauthenticated
from tlh.services.context import Actor, Context, new_id, utcnow
from tlh.services.ephemeral import Attempts, MemoryAttempts
from tlh.services.links import plain_message
from tlh.services.outbox import enqueue
from tlh.services.portal_people import Person, find_person

log = logging.getLogger(__name__)

#: Wrong answers allowed per address before its code is spent and every try refused.
MAX_TRIES = 5
CODE_TTL = timedelta(minutes=10)
#: How long ``MAX_TRIES`` wrong answers lock an address, from the first of them (a
#: sliding window: each wrong answer counts this long), so nobody can keep an address
#: locked by asking for new codes.
LOCK_WINDOW = timedelta(minutes=10)
#: The one answer to a wrong, expired or never-sent code.
WRONG_CODE = "that code does not match or has expired; ask for a new one"
LOCKED = "too many tries; ask for a new code in a few minutes"
#: Who a failed sign-in is audited as (nobody is signed in yet).
ANONYMOUS = "anonymous"


class SignInFailed(Unauthenticated):
    """A wrong, expired or never-sent code (one answer: nothing about the address leaks)."""

    code = "sign_in_failed"


def address_key(channel: MessageChannel, address: str) -> str:
    """What codes and limits are kept under: a hash, not the address itself."""
    return hashlib.sha256(f"portal:{channel.value}:{address}".encode()).hexdigest()


def _subject(key: str) -> str:
    # What the code opens (``OneTimeCodes``): this address's sign-in, no other's.
    return f"portal:{key}"


class PortalCodes:
    """Wrong answers by address (hashed) in ``attempts`` (this process's memory by
    default, or the shared store's), and the tasks asking for codes (the codes
    themselves are ``ctx.codes``').

    ``clock`` is public so tests can move time; it must return aware UTC.
    """

    def __init__(
        self, clock: Callable[[], datetime] = utcnow, attempts: Attempts | None = None
    ) -> None:
        self.clock = clock
        self._attempts: Attempts = attempts or MemoryAttempts()
        self._tasks: set[asyncio.Task[None]] = set()

    def request(self, ctx: Context, channel: MessageChannel, address: str, source: str) -> None:
        """Start sending a code to ``address`` (a normalised email or E.164 number); the
        caller answers at once, the same whether anyone has that address."""
        task = asyncio.get_running_loop().create_task(self.send(ctx, channel, address, source))
        self._tasks.add(task)
        task.add_done_callback(self._done)

    async def send(self, ctx: Context, channel: MessageChannel, address: str, source: str) -> None:
        """Open a fresh code entry for ``address`` (the old code dies) and, when the
        address stands for someone with portal access, queue its message through the
        outbox; the outbox makes the code as it sends. A new code does not reset the
        tries: asking again gives no more guesses."""
        key = address_key(channel, address)
        person = await find_person(ctx, channel, address)
        # Read late: ``clock`` is public and may be moved (tests) after the request.
        entry = await ctx.codes.open(_subject(key), CODE_TTL, lambda: self.clock())
        message = await plain_message(
            ctx,
            MessageKind.PORTAL_CODE,
            channel,
            to=address,
            key=f"portal-code:{new_id('c')}",
            values={"recipient_name": "", "code": CODE_PLACEHOLDER},
            client_id=_client_of(person),
            link_id=None,
        )
        message = msgspec.structs.replace(message, code_id=entry)
        if person is None:
            return
        actor = Actor(
            kind="client" if person.client_id else "contact", id=person.ids[0], source=source
        )
        await enqueue(ctx, actor, [message])

    async def check(
        self, ctx: Context, channel: MessageChannel, address: str, code: str, source: str
    ) -> Person:
        """Whom ``code`` signs in as; a wrong, expired or unsent code is ``SignInFailed``
        (401) and counted, and past ``MAX_TRIES`` for the address ``RateLimited`` (429);
        both audited."""
        key = address_key(channel, address)
        person = await find_person(ctx, channel, address)
        target = person.ids[0] if person is not None else "unknown"
        anonymous = Actor(kind="client", id=ANONYMOUS, source=source)
        now = self.clock()
        tried = f"portal.tries:{key}"
        window = LOCK_WINDOW.total_seconds()
        # Counted before the code is looked at (taken back if right): guesses sent all
        # at once, to one server or several, get ``MAX_TRIES`` in all, as one by one.
        slot = await self._attempts.reserve(tried, now.timestamp(), window, MAX_TRIES)
        if slot is None:
            await ctx.audit.append(anonymous, "portal.sign_in.locked", target)
            raise RateLimited(LOCKED)
        # A right code is used up by the check: one-time.
        right = person is not None and await ctx.codes.check(_subject(key), code.strip(), now)
        if not right or person is None:
            # Tries count for addresses nobody sent a code to as well.
            await ctx.audit.append(anonymous, "portal.sign_in.failed", target)
            raise SignInFailed(WRONG_CODE)
        await self._attempts.clear(tried)
        return person

    async def aclose(self) -> None:
        """Wait for codes being sent (server shutdown, before the store closes)."""
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            exc = task.exception()
            log.warning("portal sign-in code not sent: %s", type(exc).__name__)


def _client_of(person: Person | None) -> str | None:
    if person is None:
        return None
    return person.client_id or (person.contacts[0][0] if person.contacts else None)
