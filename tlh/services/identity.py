"""The identity check a client passes after opening a link, before consent or waiting.

The practice's policy picks it: ``off``, ``dob`` (the client types their date of birth,
compared against the client record) or ``code`` (a 6-digit one-time code sent through the
outbox to the address on file). Contacts and guests always get a code, sent to their own
address; a guest whose address is unknown skips the check (there is nothing to check
against). A code is made when the outbox hands its message to the transport and only
its digest kept (``tlh.services.one_time_codes``: the stored message holds a
placeholder), a link allows ``MAX_TRIES`` wrong answers (within ``TRIES_WINDOW``) and then
refuses more, and passing marks that one link session (the cookie) as verified: in
memory, and on the session's record in the store, so a restart or another server does
not ask again. Codes and tries are kept in memory (one server: a restart forgets them)
or, when several servers share the store, in its database (``tlh.services.ephemeral``),
so a guesser spreading answers over the servers still gets ``MAX_TRIES`` in all.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import msgspec
from msgspec.structs import replace

from tlh.api.links import IdentityAnswer
from tlh.domain.links import JoinLink, ParticipantKind
from tlh.domain.live_records import LinkSession
from tlh.domain.messages import CODE_PLACEHOLDER, Message, MessageChannel, MessageKind
from tlh.domain.models import Client, IdentityCheck
from tlh.errors import BadRequest, Forbidden, NotFound, RateLimited
from tlh.services.context import Actor, Context, new_id
from tlh.services.ephemeral import Attempts, MemoryAttempts
from tlh.services.links import get_link, hash_link_token, plain_message
from tlh.services.outbox import enqueue
from tlh.store.base import note

#: Wrong answers allowed per link before every further try is refused.
MAX_TRIES = 5
#: Codes sent per link (a page reload or a lost message may need another, not dozens).
MAX_CODES = 5
CODE_TTL = timedelta(minutes=10)
#: How long wrong answers and sent codes count against a link.
TRIES_WINDOW = timedelta(days=1)


class IdentityFailed(Forbidden):
    """A wrong date of birth or code (one answer, so nothing about the record leaks)."""

    code = "identity_failed"


@dataclass(frozen=True)
class Address:
    channel: MessageChannel
    to: str
    name: str


class IdentityChecks:
    """Per-link check state: wrong answers and codes sent in ``attempts`` (this
    process's memory by default, or the shared store's), the sessions that passed in
    memory (a session's record says so for every server); ``clock`` overrides the
    context's (tests)."""

    def __init__(
        self, clock: Callable[[], datetime] | None = None, attempts: Attempts | None = None
    ) -> None:
        self.clock = clock
        self._attempts: Attempts = attempts or MemoryAttempts()
        self._verified: dict[str, set[str]] = {}  # link id -> hashed session ids

    def now(self, ctx: Context) -> datetime:
        """The time checks are judged at."""
        return self.clock() if self.clock is not None else ctx.clock()

    async def count(self, what: str, link_id: str, limit: int, now: datetime) -> int:
        """How many of ``what`` (``tries``, ``codes``) the link has had by ``now`` (up to
        ``limit``)."""
        key = f"identity.{what}:{link_id}"
        return len(await self._attempts.recent(key, now.timestamp(), _WINDOW_S, limit))

    async def add(self, what: str, link_id: str, limit: int, now: datetime) -> None:
        """Count one more of ``what`` for the link, at ``now``."""
        key = f"identity.{what}:{link_id}"
        await self._attempts.add(key, now.timestamp(), _WINDOW_S, limit)

    async def reserve(self, link_id: str, now: datetime) -> str | None:
        """Count one answer as a wrong try before judging it (``None``: none left); a
        token to ``release`` when it was not wrong."""
        key = f"identity.tries:{link_id}"
        return await self._attempts.reserve(key, now.timestamp(), _WINDOW_S, MAX_TRIES)

    async def release(self, link_id: str, token: str) -> None:
        """The reserved try did not count (a right answer, a malformed one)."""
        await self._attempts.release(f"identity.tries:{link_id}", token)

    def mark_verified(self, link_id: str, session: str) -> None:
        """This link session passed the check."""
        self._verified.setdefault(link_id, set()).add(_hash(session))

    def is_verified(self, link_id: str, session: str | None) -> bool:
        """Whether this link session passed the check (on this server)."""
        found = self._verified.get(link_id)
        return bool(session) and found is not None and _hash(session or "") in found


_WINDOW_S = TRIES_WINDOW.total_seconds()


def _hash(value: str) -> str:
    return hash_link_token(value)


def _subject(link_id: str) -> str:
    # What the code opens (``OneTimeCodes``): this link's check, no other's.
    return f"identity:{link_id}"


async def _client(ctx: Context, link: JoinLink) -> Client | None:
    found = await ctx.store.get(Client, link.client_id or "")
    return found


async def addresses(ctx: Context, link: JoinLink) -> dict[MessageChannel, Address]:
    """Where a code for this link's holder may go, by channel."""
    client = await _client(ctx, link)
    email: str | None = None
    phone: str | None = None
    name = ""
    if link.participant is ParticipantKind.CLIENT and client is not None:
        email, phone, name = client.email, client.phone, client.name
    elif link.participant is ParticipantKind.CONTACT and client is not None:
        for contact in client.contacts:
            if contact.id == link.contact_id:
                email, phone, name = contact.email, contact.phone, contact.name
    elif link.participant is ParticipantKind.GUEST:
        # Guests have no record: the address their invitation went to is all we know.
        for message in await ctx.store.find(Message, "link_id", link.id):
            if message.channel is MessageChannel.EMAIL:
                email = message.to
            else:
                phone = message.to
    found: dict[MessageChannel, Address] = {}
    if email:
        found[MessageChannel.EMAIL] = Address(MessageChannel.EMAIL, email, name)
    if phone:
        found[MessageChannel.SMS] = Address(MessageChannel.SMS, phone, name)
    return found


async def mode(ctx: Context, link: JoinLink) -> IdentityCheck:
    """Which check this link's holder faces (``off`` when none applies)."""
    policy = ctx.policy().identity_check
    if policy is IdentityCheck.OFF:
        return IdentityCheck.OFF
    if link.participant is ParticipantKind.CLIENT:
        client = await _client(ctx, link)
        if policy is IdentityCheck.DOB and client is not None and client.dob is not None:
            return IdentityCheck.DOB
    return IdentityCheck.CODE if await addresses(ctx, link) else IdentityCheck.OFF


async def passed(ctx: Context, checks: IdentityChecks, link: JoinLink, session: str | None) -> bool:
    """Whether the holder of ``session`` may go on (no check applies, or they passed:
    since the server started, or before, as its stored session says)."""
    if checks.is_verified(link.id, session):
        return True
    kept = await _session_record(ctx, session)
    if kept is not None and kept.link_id == link.id and kept.verified_at is not None:
        return True
    return await mode(ctx, link) is IdentityCheck.OFF


async def _session_record(ctx: Context, session: str | None) -> LinkSession | None:
    """The stored record of a link cookie session, if any."""
    if not session or len(session) > 100:
        return None
    found = await ctx.store.find(LinkSession, "hash", _hash(session))
    return found[0] if found and isinstance(found[0], LinkSession) else None


async def verified(ctx: Context, checks: IdentityChecks, link_id: str, session: str | None) -> bool:
    """Whether this link session may enter the waiting room (unknown links may not).

    The server wraps this as ``tlh.server.routes.link_identity.verified(app, ...)``.
    """
    try:
        link = await get_link(ctx, link_id)
    except NotFound:
        return False
    return await passed(ctx, checks, link, session)


def _actor(link: JoinLink, source: str) -> Actor:
    return Actor(kind="client_link", id=link.id, source=source)


async def send_code(
    ctx: Context, checks: IdentityChecks, link: JoinLink, chan: MessageChannel, source: str = ""
) -> Message:
    """Queue a message with a fresh 6-digit code to the holder's address on ``chan``
    (the old code dies); the outbox makes the code as it sends the message."""
    if await mode(ctx, link) is not IdentityCheck.CODE:
        raise BadRequest("this link does not use a code")
    address = (await addresses(ctx, link)).get(chan)
    if address is None:
        raise BadRequest(f"no {chan.value} address on file for this link")
    now = checks.now(ctx)
    sent = await checks.count("codes", link.id, MAX_CODES, now)
    if await checks.count("tries", link.id, MAX_TRIES, now) >= MAX_TRIES or sent >= MAX_CODES:
        raise RateLimited("too many attempts; please contact your practice")
    # The check's own clock judges the code, read late (tests move it).
    entry = await ctx.codes.open(_subject(link.id), CODE_TTL, lambda: checks.now(ctx))
    await checks.add("codes", link.id, MAX_CODES, now)
    message = await plain_message(
        ctx,
        MessageKind.IDENTITY_CODE,
        chan,
        to=address.to,
        key=f"identity:{link.id}:{sent + 1}:{new_id('c')}",
        values={"recipient_name": address.name, "code": CODE_PLACEHOLDER},
        client_id=link.client_id,
        link_id=link.id,
    )
    message = replace(message, code_id=entry)
    actor = _actor(link, source)
    await ctx.audit.append(actor, "link.identity.code_sent", link.id)
    [queued] = await enqueue(ctx, actor, [message])
    return queued


async def check(
    ctx: Context,
    checks: IdentityChecks,
    link: JoinLink,
    session: str,
    given: IdentityAnswer,
    source: str = "",
) -> None:
    """Judge one answer (``dob`` or ``code``); passing marks ``session`` verified."""
    actor = _actor(link, source)
    # Counted before the answer is judged (taken back unless wrong): answers sent all at
    # once, to one server or several, get ``MAX_TRIES`` in all, as one by one.
    slot = await checks.reserve(link.id, checks.now(ctx))
    if slot is None:
        await ctx.audit.append(actor, "link.identity.locked", link.id)
        raise RateLimited("too many attempts; please contact your practice")
    try:
        right = await _judge(ctx, checks, link, given)
    except BaseException:
        await checks.release(link.id, slot)
        raise
    if right is False:
        await ctx.audit.append(actor, "link.identity.failed", link.id)
        raise IdentityFailed("that does not match, or the code has expired; please try again")
    await checks.release(link.id, slot)
    if right is None:  # no check applies
        checks.mark_verified(link.id, session)
        return
    checks.mark_verified(link.id, session)
    kept = await _session_record(ctx, session)
    if kept is None:
        await ctx.audit.append(actor, "link.identity.passed", link.id)
        return
    now = ctx.clock()
    await ctx.store.update(
        LinkSession,
        kept.id,
        lambda r: replace(r, verified_at=now) if r is not None else r,
        audit=[note(actor, "link.identity.passed", link.id, kept.id)],
    )


async def _judge(
    ctx: Context, checks: IdentityChecks, link: JoinLink, given: IdentityAnswer
) -> bool | None:
    """Whether ``given`` is right (``None``: no check applies); a right code is used up."""
    current = await mode(ctx, link)
    if current is IdentityCheck.OFF:
        return None
    if current is IdentityCheck.DOB:
        if isinstance(given.dob, msgspec.UnsetType):
            raise BadRequest("give your date of birth as dob")
        client = await _client(ctx, link)
        return client is not None and client.dob == given.dob
    code = given.code.strip()
    if not code:
        raise BadRequest("give the code you were sent as code")
    # A right code is used up by the check: one-time.
    return await ctx.codes.check(_subject(link.id), code, checks.now(ctx))
