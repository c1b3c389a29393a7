"""Keys that change what others see ask first: deny (with a few seconds to take it
back) and admit-all (only the people of the session being started); ``S`` keeps the
rest of the Schedule (issue 22, items 3 and 4)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tlh.tui.dialogs.choose import Choose
from tlh.tui.dialogs.confirm import Confirm
from tlh.tui.screens.people import PeopleScreen

from .conftest import Practice
from .helpers import arrive_with, booked, link_of, running, screen_text, until
from .test_dashboard_actions import on_schedule, pick, settled

SIZES = [(80, 24), (100, 30)]


async def test_shift_s_keeps_the_next_days_on_the_schedule(practice: Practice) -> None:
    later, _ = await booked(practice, "Cy Later", timedelta(days=1, hours=1))
    async with running(practice, (100, 30), notifications=True) as (app, pilot):
        await until(pilot, lambda: later in app.state.upcoming, "tomorrow's appointment")
        await on_schedule(pilot, app, practice.appt_id)
        await pilot.press("S")
        await pick(pilot, app, "checked in")
        await until(pilot, lambda: settled(app), "the status set")
        await until(pilot, lambda: "marked checked in" in screen_text(app), "the toast")
        assert later in app.state.upcoming
        assert "Cy Later" in screen_text(app)
        assert app.state.appointments[practice.appt_id].status.value == "checked_in"


@pytest.mark.parametrize("size", SIZES)
async def test_d_asks_then_z_takes_the_deny_back(practice: Practice, size: tuple[int, int]) -> None:
    kept = await arrive_with(practice, await link_of(practice, practice.appt_id), "kept")
    gone = await arrive_with(practice, await link_of(practice, practice.appt_id), "gone")
    try:
        async with running(practice, size, notifications=True) as (app, pilot):
            await until(pilot, lambda: len(app.state.waiting()) == 2, "both waiting")
            screen = app.screen
            assert isinstance(screen, PeopleScreen)
            app.rooms.undo_s = 0.5
            await until(pilot, lambda: screen.selected_entry() is not None, "a row selected")
            first = screen.selected_entry()
            await pilot.press("d")
            await until(pilot, lambda: isinstance(app.screen, Confirm), "asked first")
            await pilot.press("enter")
            await until(pilot, lambda: "undoes" in screen_text(app), "the undo toast")
            assert first in app.state.denying
            await pilot.press("z")
            await until(pilot, lambda: first not in app.state.denying, "undone")
            # The other one, denied for good: once that went through, the first one's
            # time was long over too.
            await pilot.press("down")
            await until(pilot, lambda: screen.selected_entry() not in (None, first), "the other")
            second = screen.selected_entry()
            await pilot.press("d")
            await until(pilot, lambda: isinstance(app.screen, Confirm), "asked again")
            await pilot.press("enter")
            await until(pilot, lambda: second not in app.state.entries, "the deny sent")
            assert first in app.state.entries
            rooms = await app.client.rooms.list()
            states = {e.id: e.state.value for r in rooms.items for e in r.entries}
            assert states.get(first) == "waiting"
            assert second not in states
    finally:
        await kept.close()
        await gone.close()


async def test_d_then_escape_denies_nobody(practice: Practice) -> None:
    person = await arrive_with(practice, await link_of(practice, practice.appt_id))
    try:
        async with running(practice, (80, 24)) as (app, pilot):
            await until(pilot, lambda: person.entry_id in app.state.entries, "the arrival")
            app.rooms.undo_s = 0.0
            await pilot.press("d")
            await until(pilot, lambda: isinstance(app.screen, Confirm), "asked first")
            await pilot.press("escape")
            await until(pilot, lambda: settled(app), "nothing done")
            assert not app.rooms.pending
            assert person.state == "waiting"
    finally:
        await person.close()


@pytest.mark.parametrize("size", SIZES)
async def test_shift_a_admits_only_the_people_of_the_session_being_started(
    practice: Practice, size: tuple[int, int]
) -> None:
    later, _ = await booked(practice, "Bo Later", timedelta(minutes=55))
    now_one = await arrive_with(practice, await link_of(practice, practice.appt_id), "n1")
    now_two = await arrive_with(practice, await link_of(practice, practice.appt_id), "n2")
    early = await arrive_with(practice, await link_of(practice, later), "e1")
    try:
        async with running(practice, size, notifications=True) as (app, pilot):
            await until(pilot, lambda: len(app.state.waiting()) == 3, "three waiting")
            screen = app.screen
            assert isinstance(screen, PeopleScreen)
            await until(pilot, lambda: screen.selected_entry() == now_one.entry_id, "selected")
            await pilot.press("A")
            await until(pilot, lambda: isinstance(app.screen, Confirm), "asked first")
            question = screen_text(app)
            assert "Admit the 2 waiting for" in question
            await pilot.press("enter")
            await until(
                pilot,
                lambda: now_one.state != "waiting" and now_two.state != "waiting",
                "both of this session let in",
            )
            await until(pilot, lambda: settled(app), "done")
            assert early.state == "waiting"  # another session's: still waiting
            assert app.state.entries[early.entry_id].state.value == "waiting"
    finally:
        for person in (now_one, now_two, early):
            await person.close()


async def test_keys_that_need_a_choice_say_so_the_same_way(practice: Practice) -> None:
    """``S`` on People with nobody there, ``a`` with nobody waiting: one answer each,
    saying what it needs, never silence or a red error."""
    async with running(practice, (80, 24), notifications=True) as (app, pilot):
        await pilot.press("a")
        await until(pilot, lambda: "select someone waiting (People, 1)" in screen_text(app), "a")
        await pilot.press("d")
        await until(pilot, lambda: screen_text(app).count("select someone waiting") >= 1, "d")
        await pilot.press("2")
        await until(pilot, lambda: app.screen.id == "schedule", "the schedule")
        await pilot.press("A")
        await until(pilot, lambda: "nobody is waiting for this session" in screen_text(app), "A")
        assert not isinstance(app.screen, Choose | Confirm)
