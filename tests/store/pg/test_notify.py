"""``PgChannel``: messages between two servers through a real PostgreSQL's LISTEN/NOTIFY.

Two channels on one database stand for two ``tlh serve`` processes: each gets what the
other posts, in order, never its own; payloads past NOTIFY's 8000 bytes pass through
the spill table (then swept); a lost connection comes back by itself and says that
messages may have been missed.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator

import pytest

from tests.pgserver import PgServer
from tests.store.pg.support import Inbox, eventually, query
from tlh.store.pg.notify import PgChannel
from tlh.store.pg.notify_text import NOTIFY_LIMIT

TOPIC = "events"


@pytest.fixture
async def pair(pg_url: str) -> AsyncIterator[tuple[PgChannel, Inbox, PgChannel, Inbox]]:
    """Two open channels (servers A and B) on one fresh database, with their inboxes."""
    out: list[PgChannel | Inbox] = []
    for name in ("a", "b"):
        channel = PgChannel(pg_url, server_id=name, spill_keep_s=0.2, sweep_s=0.1)
        inbox = Inbox()
        channel.on(TOPIC, inbox)
        channel.on_gap(inbox.gap)
        await channel.open()
        out += [channel, inbox]
    a, a_in, b, b_in = out
    assert isinstance(a, PgChannel)
    assert isinstance(b, PgChannel)
    assert isinstance(a_in, Inbox)
    assert isinstance(b_in, Inbox)
    try:
        yield a, a_in, b, b_in
    finally:
        await a.close()
        await b.close()


async def test_each_server_gets_the_others_messages_and_not_its_own(
    pair: tuple[PgChannel, Inbox, PgChannel, Inbox],
) -> None:
    a, a_in, b, b_in = pair
    a.post(TOPIC, b"from a")
    await b_in.until(lambda: len(b_in.got) == 1)
    b.post(TOPIC, b"from b")
    await a_in.until(lambda: len(a_in.got) == 1)
    # A's own message was committed before B's, so A would have had it first.
    assert a_in.got == [b"from b"]
    assert b_in.got == [b"from a"]
    assert a_in.gaps == b_in.gaps == 0


async def test_other_topics_reach_their_own_handler_only(
    pair: tuple[PgChannel, Inbox, PgChannel, Inbox],
) -> None:
    a, _, b, b_in = pair
    signals = Inbox()
    b.on("signal", signals)
    a.post("signal", b"offer")
    a.post(TOPIC, b"event")
    await b_in.until(lambda: len(b_in.got) == 1)
    assert signals.got == [b"offer"]  # posted first, so delivered first
    assert b_in.got == [b"event"]


async def test_a_thousand_messages_arrive_in_order(
    pair: tuple[PgChannel, Inbox, PgChannel, Inbox],
) -> None:
    a, _, _, b_in = pair
    sent = [str(i).encode() for i in range(1000)]
    for payload in sent[:500]:
        a.post(TOPIC, payload)
    await asyncio.gather(*(a.publish(TOPIC, p) for p in sent[500:]))
    await b_in.until(lambda: len(b_in.got) == 1000)
    assert b_in.got == sent


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param(b"x" * 20_000, id="20kB text"),
        pytest.param(os.urandom(20_000), id="20kB binary"),
        pytest.param("é".encode() * 3_999, id="7998 bytes of two-byte text"),
    ],
)
async def test_a_payload_past_the_notify_limit_passes_and_its_spill_row_is_swept(
    pair: tuple[PgChannel, Inbox, PgChannel, Inbox], pg_url: str, payload: bytes
) -> None:
    a, _, _, b_in = pair
    await a.publish(TOPIC, payload)
    await b_in.until(lambda: len(b_in.got) == 1)
    assert b_in.got == [payload]

    async def swept() -> bool:
        return (await query(pg_url, "SELECT count(*) FROM tlh_notify_spill"))[0][0] == 0

    await eventually(swept, within=10)


async def test_payloads_at_the_limit_binary_and_with_nul_pass_unchanged(
    pair: tuple[PgChannel, Inbox, PgChannel, Inbox], pg_url: str
) -> None:
    a, _, _, b_in = pair
    sent = [
        b"y" * (NOTIFY_LIMIT - 40),  # inline, just
        b"y" * NOTIFY_LIMIT,  # spilled, just
        b"\x00\x01\xff binary",
        "naïve 😀".encode(),
        b"",
        # What an array element in text form must quote or escape: JSON's quotes and
        # backslashes, braces, commas, spaces, a bare NULL.
        b'{"a": "q\\"u\\\\o", "b": [1, 2]} NULL',
        b"NULL",
    ]
    for payload in sent:
        a.post(TOPIC, payload)
    await b_in.until(lambda: len(b_in.got) == len(sent))
    assert b_in.got == sent


@pytest.mark.parametrize(
    "junk",
    [
        "junk",
        "x 1 q events y",  # no such kind
        "x 1 s events notanumber",  # a spill without a row id
        "x 1 s events 999999",  # a spill row that is not there: a gap
        "x 1 b events !!!",  # not base64
        "x one t events y",
    ],
)
async def test_a_foreign_notification_on_the_channel_is_ignored(
    pair: tuple[PgChannel, Inbox, PgChannel, Inbox], pg_url: str, junk: str
) -> None:
    a, _, _, b_in = pair
    await query(pg_url, "SELECT pg_notify('tlh_events', %s)", junk)
    a.post(TOPIC, b"still here")
    await b_in.until(lambda: b_in.got == [b"still here"])
    assert b_in.gaps == (1 if junk.endswith("999999") else 0)


async def test_a_jump_in_a_servers_sequence_is_a_gap_and_a_repeat_is_skipped(
    pair: tuple[PgChannel, Inbox, PgChannel, Inbox], pg_url: str
) -> None:
    _, _, _, b_in = pair
    # What server x's channel sends: 2 dropped from its queue while it was cut off,
    # then 3 sent twice (its first commit was cut off before the answer came).
    for text in ("x 1 t events one", "x 3 t events three", "x 3 t events three"):
        await query(pg_url, "SELECT pg_notify('tlh_events', %s)", text)
    await query(pg_url, "SELECT pg_notify('tlh_events', 'x 4 t events four')")
    await b_in.until(lambda: len(b_in.got) == 3)
    assert b_in.got == [b"one", b"three", b"four"]
    assert b_in.gaps == 1


async def test_a_killed_listening_connection_comes_back_and_reports_a_gap(
    pair: tuple[PgChannel, Inbox, PgChannel, Inbox], pg_url: str
) -> None:
    a, _, b, b_in = pair
    killed = await query(
        pg_url,
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        "WHERE application_name = 'tlh listen' AND datname = current_database()",
    )
    assert len(killed) == 2  # A's and B's
    await b_in.until(lambda: b_in.gaps == 1)
    assert b.reconnects == 1
    a.post(TOPIC, b"after")
    await b_in.until(lambda: b"after" in b_in.got)


async def test_the_channels_recover_after_postgresql_is_killed_and_restarted(
    pair: tuple[PgChannel, Inbox, PgChannel, Inbox], pg_cluster: PgServer
) -> None:
    a, a_in, _b, b_in = pair
    a.post(TOPIC, b"before")
    await b_in.until(lambda: b_in.got == [b"before"])
    await asyncio.to_thread(pg_cluster.kill)
    try:
        a.post(TOPIC, b"while down")  # queued: sent once PostgreSQL is back
    finally:
        await asyncio.to_thread(pg_cluster.restart)
    await a_in.until(lambda: a_in.gaps >= 1, within=30)
    await b_in.until(lambda: b_in.gaps >= 1, within=30)
    assert a.connected or a.reconnects >= 1
    a.post(TOPIC, b"after")
    await b_in.until(lambda: b"after" in b_in.got, within=30)
    # Whether "while down" made it depends on who reconnected first; never twice, and
    # never out of order.
    assert b_in.got[0] == b"before"
    assert b_in.got[-1] == b"after"
    assert b_in.got.count(b"while down") <= 1


async def test_open_fails_with_one_clear_line_when_postgresql_is_unreachable() -> None:
    from tests.serving import free_port

    channel = PgChannel(f"postgresql://tlh:secret@127.0.0.1:{free_port()}/nothere")
    with pytest.raises(ConnectionError) as raised:
        await channel.open()
    text = str(raised.value)
    assert "unreachable" in text
    assert "\n" not in text
    assert "secret" not in text
