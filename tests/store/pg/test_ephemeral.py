"""Rate limits, tries and one-time codes kept in PostgreSQL (``tlh.store.pg.ephemeral``):
two stores on one database stand for two servers behind a load balancer."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from tests.store.pg.support import query
from tlh.domain.messages import MessageChannel
from tlh.server.ratelimit import FailureLimiter
from tlh.services.ephemeral import wall_clock
from tlh.services.identity import MAX_TRIES, TRIES_WINDOW, IdentityChecks
from tlh.services.passkey_ceremony import (
    CHALLENGE_TTL,
    Challenge,
    Challenges,
    PasskeyExpired,
    b64,
)
from tlh.services.portal_signin import address_key
from tlh.store.pg.ephemeral import PgEphemeral
from tlh.store.pg.store import PgStore
from tlh.store.seal import PLAIN, Codec, Sealer

TTL = timedelta(minutes=10)
EMAIL = "ana.person@example.org"
PEER = "203.0.113.77"


def _now() -> datetime:
    return datetime.now(UTC)


async def _servers(url: str, codec: Codec, n: int = 2) -> AsyncIterator[list[PgEphemeral]]:
    stores = [PgStore(url, codec=codec) for _ in range(n)]
    shared: list[PgEphemeral] = []
    try:
        for store in stores:
            await store.open()
            one = store.ephemeral()
            await one.open()
            shared.append(one)
        yield shared
    finally:
        for one in shared:
            await one.close()
        for store in stores:
            await store.close()


@pytest.fixture
async def two(pg_url: str) -> AsyncIterator[list[PgEphemeral]]:
    """Two servers' shared state, the practice sealed under a data key."""
    kid = os.urandom(8)
    async for found in _servers(pg_url, Sealer({kid: os.urandom(32)}, kid)):
        yield found


async def test_a_code_made_on_one_server_is_taken_once_on_the_other(
    two: list[PgEphemeral],
) -> None:
    a, b = two
    subject = f"portal:{address_key(MessageChannel.EMAIL, EMAIL)}"
    entry = await b.codes.open(subject, TTL, _now)  # asked for on B
    assert await a.codes.pending(entry)
    code = await a.codes.issue(entry)  # the outbox runs on A
    assert code is not None
    assert await b.codes.check("portal:someone-else", code, _now()) is False
    assert await b.codes.check(subject, code, _now()) is True
    assert await a.codes.check(subject, code, _now()) is False  # used up, on every server
    assert await b.codes.check(subject, code, _now()) is False
    assert not await a.codes.pending(entry)


async def test_a_new_request_on_another_server_kills_the_old_code(
    two: list[PgEphemeral],
) -> None:
    a, b = two
    first = await a.codes.open("identity:lnk_1", TTL, _now)
    old = await a.codes.issue(first)
    second = await b.codes.open("identity:lnk_1", TTL, _now)
    assert not await a.codes.pending(first)
    assert await a.codes.issue(first) is None  # its message is not sent
    assert old is not None
    assert await b.codes.check("identity:lnk_1", old, _now()) is False
    code = await a.codes.issue(second)
    assert code is not None
    await a.codes.void(second)  # its message did not leave
    assert await b.codes.check("identity:lnk_1", code, _now()) is False
    assert await b.codes.pending(second)


async def test_of_many_checks_of_one_code_at_once_on_both_servers_exactly_one_wins(
    two: list[PgEphemeral],
) -> None:
    a, b = two
    entry = await a.codes.open("portal:x", TTL, _now)
    code = await a.codes.issue(entry)
    assert code is not None
    now = _now()
    answers = await asyncio.gather(
        *(server.codes.check("portal:x", code, now) for _ in range(8) for server in (a, b))
    )
    assert sorted(answers) == [False] * 15 + [True]


async def test_a_code_expires_its_ttl_after_it_was_made_and_is_swept(
    two: list[PgEphemeral], pg_url: str
) -> None:
    a, b = two
    entry = await a.codes.open("portal:y", TTL, _now)
    code = await a.codes.issue(entry)
    assert code is not None
    later = _now() + TTL + timedelta(seconds=1)
    assert await b.codes.check("portal:y", code, later) is False
    await b.sweep(later)
    assert await query(pg_url, "SELECT count(*) FROM tlh_codes") == [(0,)]
    assert not await a.codes.pending(entry)


async def test_failures_on_both_servers_add_up_to_one_limit(two: list[PgEphemeral]) -> None:
    a, b = two
    limiters = [
        FailureLimiter(5, 60.0, wall_clock, attempts=s.attempts, name="links") for s in (a, b)
    ]
    other_budget = FailureLimiter(5, 60.0, wall_clock, attempts=a.attempts, name="bearer")
    for n in range(5):
        limiter = limiters[n % 2]  # the balancer alternates
        assert not await limiter.blocked(PEER)
        await limiter.fail(PEER)
    for limiter in limiters:
        assert await limiter.blocked(PEER)
        refusal = await limiter.refusal(PEER)
        assert refusal.status == 429
        assert 1 <= refusal.details["retry_after_s"] <= 60  # type: ignore[index]
    assert not await limiters[0].blocked("198.51.100.1")
    assert not await other_budget.blocked(PEER)  # budgets are kept apart


async def test_attempts_leave_their_window_and_are_swept(
    two: list[PgEphemeral], pg_url: str
) -> None:
    a, b = two
    clock = [1_000_000.0]
    limiter_a = FailureLimiter(2, 60.0, lambda: clock[0], attempts=a.attempts, name="t")
    limiter_b = FailureLimiter(2, 60.0, lambda: clock[0], attempts=b.attempts, name="t")
    await limiter_a.fail(PEER)
    clock[0] += 30
    await limiter_b.fail(PEER)
    assert await limiter_a.blocked(PEER)
    assert await limiter_b.retry_after_s(PEER) == 30
    clock[0] += 30  # the first failure leaves the window
    assert not await limiter_b.blocked(PEER)
    await a.sweep(datetime.fromtimestamp(clock[0] + 31, UTC))
    assert await query(pg_url, "SELECT count(*) FROM tlh_attempts") == [(0,)]


async def _dump(url: str, *tables: str) -> bytes:
    """Every byte of ``tables`` (the codes' and the attempts'), as stored."""
    out = b""
    for table in tables or ("tlh_codes", "tlh_attempts"):
        for row in await query(url, f"SELECT * FROM {table}"):
            for value in row:
                out += (
                    bytes(value) if isinstance(value, bytes | memoryview) else str(value).encode()
                )
                out += b"\0"
    return out


@pytest.mark.parametrize("sealed", [True, False])
async def test_the_database_holds_no_code_address_or_network_address(
    pg_url: str, sealed: bool
) -> None:
    kid = os.urandom(8)
    codec: Codec = Sealer({kid: os.urandom(32)}, kid) if sealed else PLAIN
    async for a, b in _servers(pg_url, codec):
        hashed = address_key(MessageChannel.EMAIL, EMAIL)
        entry = await a.codes.open(f"portal:{hashed}", TTL, _now)
        code = await b.codes.issue(entry)
        assert code is not None
        await a.attempts.add(f"portal.tries:{hashed}", wall_clock(), 600.0, 5)
        await b.attempts.add(f"links:{PEER}", wall_clock(), 60.0, 10)
        dump = await _dump(pg_url)
        assert dump.count(b"\0") > 6  # both tables hold rows
        for secret in (code, EMAIL, hashed, PEER, "portal:", "links:"):
            assert secret.encode() not in dump
        assert bytes.fromhex(hashed) not in dump
        # The other server still takes it: the digest key is the same on both.
        assert await b.codes.check(f"portal:{hashed}", code, _now()) is True


async def test_identity_check_tries_on_both_servers_add_up(two: list[PgEphemeral]) -> None:
    checks = [IdentityChecks(attempts=s.attempts) for s in two]
    now = _now()
    for n in range(MAX_TRIES):
        await checks[n % 2].add("tries", "lnk_1", MAX_TRIES, now)
    for one in checks:
        assert await one.count("tries", "lnk_1", MAX_TRIES, now) == MAX_TRIES
        assert await one.count("tries", "lnk_2", MAX_TRIES, now) == 0
        assert await one.count("codes", "lnk_1", MAX_TRIES, now) == 0
    later = now + TRIES_WINDOW + timedelta(seconds=1)
    assert await checks[0].count("tries", "lnk_1", MAX_TRIES, later) == 0


async def test_a_passkey_challenge_from_one_server_is_answered_once_on_the_other(
    two: list[PgEphemeral], pg_url: str
) -> None:
    a, b = two
    given, answered = Challenges(_now, a.once), Challenges(_now, b.once)
    challenge = os.urandom(32)
    pending = Challenge("add", _now() + CHALLENGE_TTL, "pss_session", "handle-1")
    await given.remember(challenge, pending)
    dump = await _dump(pg_url, "tlh_once")
    assert dump  # kept, and sealed:
    assert b"pss_session" not in dump
    assert b64(challenge).encode() not in dump
    data = {"challenge": b64(challenge)}
    takes = await asyncio.gather(
        *(c.take(data, "add") for _ in range(4) for c in (given, answered)),
        return_exceptions=True,
    )
    assert [t for t in takes if not isinstance(t, PasskeyExpired)] == [pending]
    late = os.urandom(32)
    await given.remember(late, Challenge("sign_in", _now() - timedelta(seconds=1)))
    with pytest.raises(PasskeyExpired):
        await answered.take({"challenge": b64(late)}, "sign_in")


async def test_of_many_reservations_at_once_on_both_servers_only_the_limit_count(
    two: list[PgEphemeral],
) -> None:
    a, b = two
    now = wall_clock()
    tokens = await asyncio.gather(
        *(s.attempts.reserve("portal.tries:x", now, 600.0, 5) for _ in range(10) for s in (a, b))
    )
    won = [t for t in tokens if t is not None]
    assert len(won) == 5
    assert len(await a.attempts.recent("portal.tries:x", now, 600.0, 10)) == 5
    await b.attempts.release("portal.tries:x", won[0])  # a right answer: not a try
    assert await a.attempts.reserve("portal.tries:x", now, 600.0, 5) is not None
    assert await b.attempts.reserve("portal.tries:x", now, 600.0, 5) is None
