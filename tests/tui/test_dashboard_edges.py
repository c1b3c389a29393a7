"""The dashboard's hard cases: idle lock, server restart, hostile names, a crowded room."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tlh.api.rooms import EntryView, Rooms, RoomView
from tlh.client.events import Backoff
from tlh.domain.links import Channel, ParticipantKind
from tlh.tui.lock import LockScreen
from tlh.tui.screens.people import PeopleScreen
from tlh.tui.state import Connection

from .conftest import Practice
from .helpers import Fakes, dashboard, running, screen_text, until, waiting


async def test_idle_lock_hides_every_name_until_unlocked(practice: Practice) -> None:
    async with (
        running(practice, (100, 30), notifications=True, synced=False, idle_s=3.0) as (app, pilot),
        waiting(pilot, practice),
    ):
        await until(pilot, lambda: practice.client_name in screen_text(app), "the name")
        app.idle.limit_s = 0.3  # now idle soon: the names were seen first
        await until(pilot, lambda: app.locked, "the idle lock")
        app.idle.limit_s = 3600.0  # and not again before the unlock is checked
        assert isinstance(app.screen, LockScreen)
        await until(pilot, lambda: "Locked" in screen_text(app), "the lock drawn")
        shown = screen_text(app)
        assert practice.client_name not in shown
        await pilot.press("2")  # screen keys do nothing while locked
        await pilot.press("a")
        assert isinstance(app.screen, LockScreen)
        assert practice.client_name not in screen_text(app)
        await pilot.press("u")
        await until(pilot, lambda: not app.locked, "unlocked")
        await until(pilot, lambda: practice.client_name in screen_text(app), "names back")


async def test_ctrl_l_locks_at_once(practice: Practice) -> None:
    async with running(practice, (100, 30)) as (app, pilot):
        await pilot.press("2")
        await until(pilot, lambda: practice.client_name in screen_text(app), "schedule")
        await pilot.press("ctrl+l")
        await until(pilot, lambda: isinstance(app.screen, LockScreen), "the lock")
        assert practice.client_name not in screen_text(app)


async def test_server_restart_shows_reconnecting_then_resyncs(practice: Practice) -> None:
    async with running(practice, (100, 30)) as (app, pilot):
        async with waiting(pilot, practice):
            pass  # someone arrives, and leaves before the restart
        await practice.server.stop()
        await until(pilot, lambda: app.state.connection == Connection.RECONNECTING, "reconnecting")
        await until(pilot, lambda: "reconnecting" in screen_text(app), "shown")
        app.state.appointments.clear()  # a stale view: only a full resync restores it
        await practice.server.start()
        await until(pilot, lambda: app.state.connection == Connection.LIVE, "live again")
        await until(pilot, app.feed.synced.is_set, "the resync")
        assert practice.appt_id in app.state.appointments
        fresh = await app.client.rooms.list()
        assert set(app.state.entries) == {e.id for r in fresh.items for e in r.entries}
        assert "live" in screen_text(app)


async def test_names_with_rich_markup_are_shown_literally(practice: Practice) -> None:
    hostile = "[bold red]Eve[/] [link=http://x]y"
    async with (
        running(practice, (140, 30), notifications=True) as (app, pilot),
        waiting(pilot, practice, display_name=hostile),
    ):
        await until(pilot, lambda: "[bold red]Eve[/]" in screen_text(app), "literal")


def crowd(count: int, clinician_id: str) -> Rooms:
    at = datetime.now(UTC) - timedelta(minutes=30)
    entries = [
        EntryView(
            id=f"ent_{i:04d}",
            clinician_id=clinician_id,
            link_id=f"lnk_{i}",
            participant=ParticipantKind.GUEST,
            display_name=f"Guest {i}",
            label=f"Guest {i}",
            channel=Channel.EMAIL,
            arrived_at=at + timedelta(seconds=i),
            state_since=at,
            device_id=f"d{i}",
            position=i + 1,
        )
        for i in range(count)
    ]
    return Rooms(items=[RoomView(clinician_id=clinician_id, entries=entries)])


async def test_two_hundred_waiting_at_80x24_scrolls(practice: Practice) -> None:
    """The screen follows the state by itself: nothing but the model is touched here."""
    async with running(practice, (80, 24)) as (app, pilot):
        app.state.load_rooms(crowd(200, "stf_x"))
        screen = app.screen
        assert isinstance(screen, PeopleScreen)
        await until(pilot, lambda: screen.table.row_count == 200, "200 rows")
        await until(pilot, lambda: "Guest 0" in screen_text(app), "the first row")
        await pilot.press("ctrl+end")
        await until(pilot, lambda: "Guest 199" in screen_text(app), "the last row")
        assert screen.selected() == "ent_0199"
        assert "200 waiting" in screen_text(app)


async def test_an_event_during_shutdown_is_dropped_quietly(practice: Practice) -> None:
    """Textual empties the screen stack before it stops workers: a person leaving
    just then (the live feed changes the state) or an action finishing must not fail
    the app."""
    async with running(practice, (100, 30)) as (app, _):
        assert app.ui.front() is not None
    # Shut down: no screens are left, as in the window before workers stop.
    assert app.ui.front() is None
    app.state.load_rooms(crowd(1, "stf_x"))
    assert app.ui.selected_entry() is None
    assert app.rooms.chosen_appointment() is None


async def test_ctrl_r_reconnects_without_waiting_out_the_delay(practice: Practice) -> None:
    async with practice.clinician() as client:
        app = dashboard(client, Fakes())
        app.feed.backoff = Backoff(30.0, 30.0)  # far longer than any wait here
        async with app.run_test(size=(100, 30)) as pilot:
            await until(pilot, app.feed.synced.is_set, "the first sync")
            await practice.server.stop()
            await until(pilot, lambda: "retrying in 30 s" in screen_text(app), "the long wait")
            await practice.server.start()
            await pilot.press("ctrl+r")
            await until(pilot, lambda: app.state.connection == Connection.LIVE, "live again")
