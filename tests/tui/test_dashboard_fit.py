"""A clinic day on a terminal: a 60-character name hides nobody's state at 80x24 or
100x30, and the person menu fits (or scrolls) with every button reachable and the
focused one in view (issue 22, items 1 and 2)."""

from __future__ import annotations

import re

import pytest
from textual.widgets import Button

from tlh.tui.dialogs.person_menu import PersonMenu
from tlh.tui.screens.people import PeopleScreen
from tlh.tui.screens.schedule import ScheduleScreen

from .conftest import Practice
from .helpers import arrive_with, lines_with, link_of, running, screen_text, until

#: 60 characters: the name that pushed every row's state off screen.
LONG = "Maximiliana Alexandrovna Okonkwo-Featherstonehaugh de la Cruz"[:60]

SIZES = [(80, 24), (100, 30)]


@pytest.mark.parametrize("size", SIZES)
async def test_a_long_name_is_cut_and_every_rows_state_stays_on_screen(
    practice: Practice, size: tuple[int, int]
) -> None:
    async with practice.admin() as admin:
        client_id = (await admin.appointments.get(practice.appt_id)).client_ids[0]
        await admin.clients.update(client_id, name=LONG)
    person = await arrive_with(practice, await link_of(practice, practice.appt_id))
    try:
        async with running(practice, size) as (app, pilot):
            await until(pilot, lambda: person.entry_id in app.state.entries, "the arrival")
            screen = app.screen
            assert isinstance(screen, PeopleScreen)
            await until(pilot, lambda: bool(lines_with(app, LONG[:8])), "the row")
            (row,) = lines_with(app, LONG[:8])
            # The timer, the consent and the line state of the row are on screen.
            assert re.search(r"\b\d+:\d\d\b", row), row
            assert "valid" in row
            assert "online" in row
            assert len(row.rstrip()) <= size[0]
            assert LONG not in row  # the name is cut, with an ellipsis
            assert "…" in row
            # The whole name is in the person menu.
            await pilot.press("enter")
            await until(pilot, lambda: isinstance(app.screen, PersonMenu), "the menu")
            assert LONG in screen_text(app)
            await pilot.press("escape")
            # The Schedule keeps Tele and Can start in view too.
            await pilot.press("2")
            await until(pilot, lambda: isinstance(app.screen, ScheduleScreen), "the schedule")
            await until(pilot, lambda: bool(lines_with(app, LONG[:8])), "its row")
            (row,) = lines_with(app, LONG[:8])
            assert "tele" in row
            assert "✓ yes" in row
    finally:
        await person.close()


@pytest.mark.parametrize("size", [*SIZES, (60, 14)])
async def test_the_person_menu_fits_or_scrolls_with_the_focused_button_in_view(
    practice: Practice, size: tuple[int, int]
) -> None:
    person = await arrive_with(practice, await link_of(practice, practice.appt_id))
    try:
        async with running(practice, size) as (app, pilot):
            await until(pilot, lambda: person.entry_id in app.state.entries, "the arrival")
            screen = app.screen
            assert isinstance(screen, PeopleScreen)
            await until(pilot, lambda: screen.selected_entry() == person.entry_id, "the row")
            await pilot.press("enter")
            await until(pilot, lambda: isinstance(app.screen, PersonMenu), "the menu")
            menu = app.screen
            buttons = list(menu.query(Button))
            assert len(buttons) >= 6
            box = menu.query_one("#menu-box")
            seen = set()
            for _ in buttons:
                await pilot.pause()
                focused = menu.focused
                assert isinstance(focused, Button)
                seen.add(focused.name)
                # In view: drawn, inside the menu's box, inside the terminal.
                assert focused.region.area, focused.name
                assert box.region.contains_region(focused.region), (focused.name, box.region)
                assert app.screen.region.contains_region(focused.region)
                await pilot.press("tab")
            assert seen == {b.name for b in buttons}  # every button reachable
            # Enter fires the button in view that has the focus, and nothing else.
            await until(pilot, lambda: isinstance(menu.focused, Button), "a button focused")
            assert isinstance(menu.focused, Button)
            assert menu.focused.name == buttons[0].name  # Tab came round to the first
    finally:
        await person.close()
