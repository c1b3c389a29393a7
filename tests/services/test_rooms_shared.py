"""The waiting rooms of several servers on one PostgreSQL (``tlh.services.room_link``).

Each "server" here is a real ``PgStore`` and ``PgChannel`` on one database with its own
``Rooms`` and ``CallHub``, as two ``tlh serve --store`` processes have them: a client
waits on A; a clinician on B sees them, messages them and lets them in; two servers
admitting the same entry at once get one admission; an owner gone while a command waits
is a clear 503 with nothing changed; a server that adopts a dead one's entries holds
their places.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest

from tlh.api.frames import Admitted, StaffMessage, Status
from tlh.domain import rooms as rules
from tlh.domain.models import Role
from tlh.domain.rooms import EntryState, Presence, RoomEntry
from tlh.errors import NotFound
from tlh.services import sessions
from tlh.services.context import Actor
from tlh.services.idle_sessions import IdleSessions
from tlh.services.room_link import OwnerUnavailable

from .room_server import Page, Server, close_server, open_server, seed_practice
from .test_waiting import LINK

DOC = Actor(kind="staff", id="stf_doc", role=Role.CLINICIAN)
ADMIN = Actor(kind="staff", id="stf_admin", role=Role.ADMIN)


async def until(check: Callable[[], object], within: float = 10.0) -> None:
    """Wait until ``check()`` holds (state that another server's message changes)."""
    async with asyncio.timeout(within):
        while not check():
            await asyncio.sleep(0.01)


@pytest.fixture
async def servers(pg_url: str) -> AsyncIterator[list[Server]]:
    """Three servers on one database (A, B, C), the practice seeded once."""
    await seed_practice(pg_url)
    made: list[Server] = []
    try:
        for name in ("sa", "sb", "sc"):
            made.append(await open_server(pg_url, name))
        yield made
    finally:
        for one in made:
            await close_server(one)


async def _waiting_on(server: Server, device: str = "dev_1") -> tuple[RoomEntry, Page]:
    page = Page()
    entry = await server.rooms.participants.hello(LINK, device, page.connection())
    return entry, page


async def test_a_client_waiting_on_a_is_listed_on_b_in_the_same_place(
    servers: list[Server],
) -> None:
    a, b, _ = servers
    first, _ = await _waiting_on(a, "dev_1")
    second, _ = await _waiting_on(b, "dev_2")
    await until(lambda: len(a.rooms.state.live("stf_doc")) == 2)
    await until(lambda: len(b.rooms.state.live("stf_doc")) == 2)
    for server in (a, b):
        assert [e.id for e in server.rooms.state.live("stf_doc")] == [first.id, second.id]
    assert b.rooms.state.owner_of(first.id) == "sa"
    assert a.rooms.state.owner_of(second.id) == "sb"
    # Each server's own entries are its own: the hooks and timers act on those only.
    assert [e.id for e in b.rooms.state.entries()] == [second.id]


async def test_a_server_starting_later_gets_the_entries_already_waiting(
    servers: list[Server], pg_url: str
) -> None:
    a, _, _ = servers
    entry, _ = await _waiting_on(a)
    late = await open_server(pg_url, "sd")
    try:
        await until(lambda: late.rooms.state.get(entry.id) is not None)
        assert late.rooms.state.owner_of(entry.id) == "sa"
    finally:
        await close_server(late)


async def test_a_clinician_on_b_messages_and_admits_a_client_waiting_on_a(
    servers: list[Server],
) -> None:
    a, b, _ = servers
    entry, page = await _waiting_on(a)
    await until(lambda: b.rooms.state.get(entry.id) is not None)

    await b.rooms.staff.message(DOC, entry.id, "Running 5 minutes late")
    await until(lambda: any(isinstance(f, StaffMessage) for f in page.frames))

    admitted = await b.rooms.staff.admit(DOC, entry.id)
    assert admitted.state is EntryState.ADMITTED
    assert a.rooms.state.entry(entry.id).state is EntryState.ADMITTED
    await until(lambda: any(isinstance(f, Admitted) for f in page.frames))
    # B's replica follows, call and all.
    await until(lambda: b.rooms.state.entry(entry.id).state is EntryState.ADMITTED)
    assert b.rooms.state.call_of(entry.id) == a.rooms.state.call_of(entry.id) is not None


async def test_two_servers_admitting_the_same_entry_at_once_let_it_in_once(
    servers: list[Server],
) -> None:
    a, b, c = servers
    entry, _ = await _waiting_on(a)
    await until(lambda: all(s.rooms.state.get(entry.id) for s in (b, c)))
    results = await asyncio.gather(
        a.rooms.staff.admit(ADMIN, entry.id),
        b.rooms.staff.admit(DOC, entry.id),
        c.rooms.staff.admit(DOC, entry.id),
        return_exceptions=True,
    )
    won = [r for r in results if isinstance(r, RoomEntry)]
    lost = [r for r in results if isinstance(r, BaseException)]
    assert len(won) == 1, results
    assert len(lost) == 2
    assert all(isinstance(e, rules.AlreadyAdmitted) for e in lost), lost
    assert all(e.code == "already_admitted" and e.status == 409 for e in lost)


async def test_a_clinician_of_another_room_is_refused_by_the_owner_as_here(
    servers: list[Server],
) -> None:
    a, b, _ = servers
    entry, _ = await _waiting_on(a)
    await until(lambda: b.rooms.state.get(entry.id) is not None)
    other = Actor(kind="staff", id="stf_other", role=Role.CLINICIAN)
    with pytest.raises(NotFound) as raised:
        await b.rooms.staff.admit(other, entry.id)
    assert raised.value.status == 404
    assert a.rooms.state.entry(entry.id).state is EntryState.WAITING


async def test_an_owner_gone_while_a_command_waits_is_a_clear_503_and_nothing_changed(
    servers: list[Server],
) -> None:
    a, b, _ = servers
    entry, page = await _waiting_on(a)
    await until(lambda: b.rooms.state.get(entry.id) is not None)
    await a.channel.close()  # A stops hearing: as a server killed, for its channel
    with pytest.raises(OwnerUnavailable) as raised:
        await b.rooms.staff.admit(DOC, entry.id)
    assert raised.value.status == 503
    assert "did not answer" in raised.value.message
    assert a.rooms.state.entry(entry.id).state is EntryState.WAITING
    assert b.rooms.state.entry(entry.id).state is EntryState.WAITING
    assert not any(isinstance(f, Admitted) for f in page.frames)


async def test_when_a_server_dies_exactly_one_other_takes_its_entries_with_their_places(
    servers: list[Server],
) -> None:
    a, b, c = servers
    first, _ = await _waiting_on(a, "dev_1")
    second, _ = await _waiting_on(a, "dev_2")
    mine, _ = await _waiting_on(b, "dev_3")
    await until(lambda: len(b.rooms.state.live("stf_doc")) == 3)
    await until(lambda: len(c.rooms.state.live("stf_doc")) == 3)
    order = [first.id, second.id, mine.id]
    # A is gone: its channel and its database session (which held its id's lock) end.
    await a.rooms.close()
    await a.channel.close()

    def owners() -> list[str | None]:
        return [s.rooms.state.owner_of(first.id) for s in (b, c)]

    # One of B and C took both over (the other's replicas now name it).
    await until(lambda: owners() in ([None, "sb"], ["sc", None]))
    adopter, other = (b, c) if owners() == [None, "sb"] else (c, b)
    for server in (b, c):
        assert [e.id for e in server.rooms.state.live("stf_doc")] == order
    assert other.rooms.state.owner_of(second.id) == adopter.id
    # Only the adopter holds their places for the reconnect grace.
    held = {h.delay for h in adopter.timer.pending()}
    assert len(adopter.timer.pending()) == 2
    assert held == {60}
    assert other.timer.pending() == []
    # The other forwards to the adopter now.
    admitted = await other.rooms.staff.admit(DOC, first.id)
    assert admitted.state is EntryState.ADMITTED
    assert adopter.rooms.state.entry(first.id).state is EntryState.ADMITTED


async def test_idle_sessions_on_b_keep_a_session_whose_client_is_in_the_call_on_a(
    servers: list[Server],
) -> None:
    a, b, _ = servers
    entry, _ = await _waiting_on(a)
    await until(lambda: b.rooms.state.get(entry.id) is not None)
    await b.rooms.staff.admit(DOC, entry.id)
    segment_id = a.rooms.state.call_of(entry.id)
    assert segment_id is not None
    await until(lambda: b.rooms.state.call_of(entry.id) == segment_id)
    segment = await sessions.find_segment(b.ctx, segment_id)
    assert segment is not None
    idle = IdleSessions(b.ctx, b.hub, b.rooms.state.in_call, b.rooms.hooks.session_ended)
    idle.watch(segment)
    # Nobody is in B's call hub; the client is in the call on A.
    assert await idle.sweep(now=0.0) == []
    assert await idle.sweep(now=idle.grace_s + 1) == []
    still = await sessions.find_segment(a.ctx, segment_id)
    assert still is not None
    assert still.ended_at is None
    assert a.rooms.state.entry(entry.id).state is EntryState.ADMITTED


async def test_a_page_reconnecting_to_another_server_moves_its_entry_there_in_place(
    servers: list[Server],
) -> None:
    a, b, c = servers
    entry, _ = await _waiting_on(a, "dev_1")
    later, _ = await _waiting_on(a, "dev_2")
    await until(lambda: len(b.rooms.state.live("stf_doc")) == 2)
    # The balancer sends the page's next socket to B (A is alive; its socket may be
    # half-open still: A lets it go).
    back = await b.rooms.participants.hello(LINK, "dev_1", Page().connection())
    assert back.id == entry.id
    assert b.rooms.state.owner_of(entry.id) is None
    await until(lambda: a.rooms.state.owner_of(entry.id) == "sb")
    await until(lambda: c.rooms.state.owner_of(entry.id) == "sb")
    for server in (a, b, c):
        assert [e.id for e in server.rooms.state.live("stf_doc")] == [entry.id, later.id]
    assert a.timer.pending() == []


def _last_status(page: Page) -> Status:
    found = [f for f in page.frames if isinstance(f, Status)]
    return found[-1]


async def test_a_client_on_a_sees_the_clinician_online_whose_dashboard_is_on_b(
    servers: list[Server],
) -> None:
    a, b, _ = servers
    entry, page = await _waiting_on(a)
    await until(lambda: b.rooms.state.get(entry.id) is not None)
    assert _last_status(page).presence == "offline"
    await b.rooms.staff.connected("stf_doc", True)
    await until(lambda: _last_status(page).presence == "online")
    await b.rooms.staff.set_presence(DOC, Presence.LATE)
    await until(lambda: _last_status(page).presence == "late")
    await b.rooms.staff.set_presence(DOC, Presence.ONLINE)
    await b.rooms.staff.connected("stf_doc", False)
    await until(lambda: _last_status(page).presence == "offline")


async def test_a_client_on_a_moves_up_when_the_one_before_on_b_is_let_in(
    servers: list[Server],
) -> None:
    a, b, _ = servers
    first, _ = await _waiting_on(b, "dev_1")
    second, page = await _waiting_on(a, "dev_2")
    await until(lambda: a.rooms.state.get(first.id) is not None)
    await until(lambda: b.rooms.state.get(second.id) is not None)
    assert _last_status(page).position == 2
    await b.rooms.staff.admit(DOC, first.id)
    await until(lambda: _last_status(page).position == 1)
