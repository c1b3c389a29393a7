"""``SharedEventBus``: two (or three) servers' buses on one real PostgreSQL.

A staff member's dashboard on server B gets what server A publishes, filtered by the
event's audience exactly as on A; A's own subscribers get it at once, before anything
reaches PostgreSQL; a received event is never sent on; a lost connection tells B's
subscribers to resync.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from tests.store.pg.support import query
from tlh.domain.audience import EVERYONE, Shown, Viewer, concerning
from tlh.domain.models import Role
from tlh.services.events import OVERFLOW, Event, Subscription
from tlh.services.shared_events import SharedEventBus, decode, encode
from tlh.store.pg.notify import PgChannel

ADMIN = Viewer("stf_admin", Role.ADMIN)
MINE = Viewer("stf_c1", Role.CLINICIAN)
OTHER = Viewer("stf_c2", Role.CLINICIAN)
AT = datetime(2026, 12, 4, 15, 0, tzinfo=UTC)


def joined() -> tuple[str, dict[str, object], Shown]:
    """A ``room.joined`` as the rooms publish it: ids for all, the entry for some."""
    audience = concerning("stf_c1")
    shown = Shown(
        key="entry",
        value={"id": "ent_1", "name": "A Client", "since": AT, "state": "waiting"},
        audience=audience,
        client_ids=("cli_1",),
    )
    return "room.joined", {"room_id": "stf_c1", "entry_id": "ent_1", "at": AT}, shown


@pytest.fixture
async def servers(pg_url: str) -> AsyncIterator[list[SharedEventBus]]:
    """Three servers' buses, each on its own channel to one database."""
    channels = [PgChannel(pg_url, server_id=f"s{i}") for i in range(3)]
    buses = [SharedEventBus(c) for c in channels]
    for channel in channels:
        await channel.open()
    try:
        yield buses
    finally:
        for channel in channels:
            await channel.close()


async def next_event(sub: Subscription, within: float = 10.0) -> Event:
    async with asyncio.timeout(within):
        return await sub.get()


async def test_a_staff_member_on_b_gets_what_a_publishes_as_a_would_show_it(
    servers: list[SharedEventBus],
) -> None:
    a, b, _ = servers
    on_a = a.subscribe(viewer=MINE)
    mine, admin, other = (b.subscribe(viewer=v) for v in (MINE, ADMIN, OTHER))
    type, data, shown = joined()
    a.publish(type, data, concerning("stf_c1"), shown)
    a.publish("policy.changed", {"id": "policy"}, EVERYONE)

    local = await next_event(on_a)
    for sub, viewer in ((mine, MINE), (admin, ADMIN)):
        got = await next_event(sub)
        assert got.remote
        assert got.type == "room.joined"
        # The frame B's socket sends is the frame A's would, name and all.
        assert got.wire(viewer) == local.wire(viewer)
        assert got.wire(viewer)[1] == ("cli_1",)  # a read to audit on B
        assert (await next_event(sub)).type == "policy.changed"
    # Not in the audience: the next thing this clinician gets is the practice-wide one.
    assert (await next_event(other)).type == "policy.changed"
    assert other.queue.empty()


async def test_publish_delivers_here_before_postgresql_sees_it(
    servers: list[SharedEventBus],
) -> None:
    a, b, _ = servers
    here = a.subscribe(viewer=MINE)
    there = b.subscribe(viewer=MINE)
    type, data, shown = joined()
    a.publish(type, data, concerning("stf_c1"), shown)
    # No await in between: the local subscriber has it already.
    assert here.queue.qsize() == 1
    assert not here.queue.get_nowait().remote
    assert (await next_event(there)).remote


async def test_a_received_event_is_never_sent_on_and_skips_local_only_subscribers(
    servers: list[SharedEventBus],
) -> None:
    a, b, c = servers
    hooks_a, hooks_b = a.subscribe(local_only=True), b.subscribe(local_only=True)
    follower_b, on_c = b.subscribe(), c.subscribe()
    a.publish("link.revoked", {"ids": ["lnk_1"]}, EVERYONE)
    assert (await next_event(follower_b)).data == {"ids": ["lnk_1"]}
    b.publish("session.started", {"session_id": "ses_1"}, EVERYONE)
    # C gets A's event once, then B's: had B sent A's on, C would have it twice first.
    assert (await next_event(on_c)).type == "link.revoked"
    assert (await next_event(on_c)).type == "session.started"
    assert on_c.queue.empty()
    # The hooks of each server see their own server's events only.
    assert (await next_event(hooks_a)).type == "link.revoked"
    assert (await next_event(hooks_b)).type == "session.started"
    assert hooks_a.queue.empty()
    assert hooks_b.queue.empty()


async def test_a_lost_connection_tells_the_subscribers_to_resync(
    servers: list[SharedEventBus], pg_url: str
) -> None:
    a, b, _ = servers
    dashboard, hooks = b.subscribe(viewer=MINE), b.subscribe(local_only=True)
    await query(
        pg_url,
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        "WHERE application_name = 'tlh listen' AND datname = current_database()",
    )
    assert (await next_event(dashboard)).type == OVERFLOW
    a.publish("policy.changed", {"id": "policy"}, EVERYONE)
    assert (await next_event(dashboard)).type == "policy.changed"
    assert hooks.queue.empty()  # nothing of this server's was missed


def test_an_event_survives_the_wire_with_its_audience_and_what_it_shows() -> None:
    type, data, shown = joined()
    event = Event(type=type, at=AT, data=data, audience=concerning("stf_c1"), shown=shown)
    back = decode(encode(event))
    assert (back.type, back.at, back.audience, back.remote) == (
        type,
        AT,
        concerning("stf_c1"),
        True,
    )
    assert back.shown is not None
    assert back.shown.client_ids == ("cli_1",)
    for viewer in (MINE, ADMIN, OTHER):
        assert back.wire(viewer) == event.wire(viewer)
