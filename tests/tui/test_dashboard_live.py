"""The dashboard against a real server: arrivals ring and light up, keys admit and deny."""

from __future__ import annotations

import pytest

from tests.keepalive import idle_connections_closed
from tlh.domain.rooms import EntryState
from tlh.tui.dialogs.confirm import Confirm
from tlh.tui.dialogs.explain import ExplainScreen
from tlh.tui.screens.people import PeopleScreen
from tlh.tui.screens.schedule import ScheduleScreen

from .conftest import Practice
from .helpers import Fakes, running, screen_text, until, waiting

SIZE = (120, 30)


async def test_arrival_rings_and_is_highlighted_on_the_schedule_screen(
    practice: Practice,
) -> None:
    fakes = Fakes()
    async with running(practice, SIZE, fakes, notifications=True) as (app, pilot):
        await pilot.press("2")
        await until(pilot, lambda: isinstance(app.screen, ScheduleScreen), "schedule")
        assert practice.client_name in screen_text(app)
        assert fakes.rings == 0
        async with waiting(pilot, practice) as person:
            await until(pilot, lambda: fakes.rings == 1, "the bell")
            assert person.entry_id in app.state.highlighted
            assert isinstance(app.screen, ScheduleScreen)
            screen = app.screen
            assert isinstance(screen, ScheduleScreen)
            await until(
                pilot,
                lambda: screen.table.get_cell(practice.appt_id, "session").plain == "waiting",
                "the row marked",
            )
            await pilot.press("1")
            await until(pilot, lambda: isinstance(app.screen, PeopleScreen), "people")
            shown = screen_text(app)
            assert "NEW" in shown
            assert practice.client_name in shown


async def test_a_admits_and_the_row_moves_to_in_session(practice: Practice) -> None:
    fakes = Fakes(browser=False)
    async with (
        running(practice, SIZE, fakes, notifications=True) as (app, pilot),
        waiting(pilot, practice) as person,
    ):
        await pilot.press("a")
        await until(pilot, lambda: bool(fakes.opened), "the call page")
        rooms = await app.client.rooms.list()
        entry = next(e for r in rooms.items for e in r.entries if e.id == person.entry_id)
        assert entry.state in (EntryState.ADMITTED, EntryState.IN_SESSION)
        assert entry.admitted_by is not None
        await until(
            pilot,
            lambda: app.state.entries[person.entry_id].state != EntryState.WAITING,
            "the row to move",
        )
        assert person.entry_id not in app.state.highlighted
        assert "admitted" in screen_text(app) or "in session" in screen_text(app)
        # No browser: the URL is shown instead.
        url = fakes.opened[0]
        await until(pilot, lambda: url[:30] in screen_text(app), "the URL shown")


@pytest.mark.keepalive_s(0.3)
async def test_a_admits_after_the_server_closed_the_idle_connection(practice: Practice) -> None:
    """A quiet spell (``tlh serve`` closes idle connections after 75 s; this server after
    0.3 s), then ``a``: the person is admitted at the first press, no toast."""
    fakes = Fakes(browser=False)
    async with (
        running(practice, SIZE, fakes, notifications=True) as (app, pilot),
        waiting(pilot, practice) as person,
    ):
        await idle_connections_closed(practice.url)
        await pilot.press("a")
        await until(pilot, lambda: bool(fakes.opened), "the call page")
        assert "cannot reach" not in screen_text(app)
        await until(pilot, lambda: person.state != "waiting", "the person let in")


async def test_d_denies_after_asking(practice: Practice) -> None:
    fakes = Fakes()
    async with (
        running(practice, SIZE, fakes, notifications=True) as (app, pilot),
        waiting(pilot, practice) as person,
    ):
        app.rooms.undo_s = 0.2
        await pilot.press("d")
        await until(pilot, lambda: isinstance(app.screen, Confirm), "the question")
        assert f"Deny {practice.client_name}?" in screen_text(app)
        await pilot.press("enter")
        await until(pilot, lambda: person.state == "denied", "the participant denied")
        await until(pilot, lambda: person.entry_id not in app.state.entries, "the row to go")
        screen = app.screen
        assert isinstance(screen, PeopleScreen)
        await until(pilot, lambda: screen.nobody, "the day shown instead")
        assert fakes.opened == []


async def test_e_shows_every_blocking_reason(practice: Practice) -> None:
    async with practice.admin() as admin:
        await admin.consents.revoke((await admin.appointments.get(practice.appt_id)).client_ids[0])
        expected = await admin.appointments.eligibility(practice.appt_id)
    assert expected.blockers
    fakes = Fakes()
    async with running(practice, SIZE, fakes, notifications=True) as (app, pilot):
        await pilot.press("2")
        await until(pilot, lambda: app.screen.id == "schedule", "schedule")
        await pilot.press("e")
        await until(pilot, lambda: isinstance(app.screen, ExplainScreen), "the reasons")
        shown = screen_text(app)
        assert f"{practice.client_name} (" in shown
        assert "cannot start:" in shown
        assert "consent revoked — press v to record verbal consent, c to send the form" in shown
        assert [b.code for b in expected.blockers] == ["consent_revoked"]
        assert "cli_" not in shown  # names, never ids
        await pilot.press("escape")
        await pilot.press("s")
        await until(pilot, lambda: isinstance(app.screen, ExplainScreen), "start refused")
        assert fakes.opened == []


async def test_n_calls_next_r_sends_back_and_shift_a_admits_all(practice: Practice) -> None:
    fakes = Fakes()
    async with running(practice, SIZE, fakes) as (app, pilot), waiting(pilot, practice) as person:
        entry_id = person.entry_id

        def state_of() -> EntryState:
            return app.state.entries[entry_id].state

        await pilot.press("n")
        await until(pilot, lambda: state_of() != EntryState.WAITING, "admitted")
        assert len(fakes.opened) == 1
        screen = app.screen
        assert isinstance(screen, PeopleScreen)
        await until(pilot, lambda: screen.selected() == entry_id, "the row selected")
        await pilot.press("r")
        await until(pilot, lambda: state_of() == EntryState.WAITING, "sent back")
        await pilot.press("A")
        await until(pilot, lambda: isinstance(app.screen, Confirm), "asked first")
        await pilot.press("enter")
        await until(pilot, lambda: state_of() != EntryState.WAITING, "admitted again")
        assert len(fakes.opened) == 2
