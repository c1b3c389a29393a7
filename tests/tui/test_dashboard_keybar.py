"""The footer follows the selection and shows the screens; marks that go stale do not
stay (issue 22, item 7): NEW ends after a while, ``early HH:MM`` turns into waiting
once the session is due, without any event."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tlh.tui.keybar import KeyBar
from tlh.tui.screens.people import PeopleScreen

from .conftest import Practice
from .helpers import arrive_with, booked, lines_with, link_of, running, until

SIZES = [(80, 24), (100, 30)]
#: How long an arrival is marked NEW (``tlh.tui.state.NEW_FOR``: 2 minutes).
NEW_FOR = timedelta(minutes=2)


def bar(app: object) -> tuple[str, str]:
    """The key bar's two lines: keys, then tabs."""
    found = app.screen.query_one(KeyBar)  # type: ignore[attr-defined]
    keys, tabs = str(found.render()).splitlines()
    return keys, tabs


@pytest.mark.parametrize("size", SIZES)
async def test_the_key_bar_shows_the_keys_for_the_selection_and_the_screens(
    practice: Practice, size: tuple[int, int]
) -> None:
    person = await arrive_with(practice, await link_of(practice, practice.appt_id))
    try:
        async with running(practice, size) as (app, pilot):
            screen = app.screen
            assert isinstance(screen, PeopleScreen)
            await until(pilot, lambda: screen.selected_entry() == person.entry_id, "the row")
            await until(pilot, lambda: "a Admit" in bar(app)[0], "admit offered")
            keys, tabs = bar(app)
            assert "d Deny" in keys
            assert "r Send back" not in keys  # they are not in the call
            assert tabs.split() == [
                "1",
                "People",
                "2",
                "Schedule",
                "3",
                "Notifications",
                "4",
                "Reports",
                "5",
                "Settings",
            ]
            assert len(keys) <= size[0]
            await pilot.press("a")
            await until(pilot, lambda: person.state != "waiting", "admitted")
            await until(pilot, lambda: "r Send back" in bar(app)[0], "send back offered")
            keys, _ = bar(app)
            assert "a Admit" not in keys
            assert "x End session" in keys
            await pilot.press("2")
            await until(pilot, lambda: app.screen.id == "schedule", "the schedule")
            keys, tabs = bar(app)
            assert "s Start" in keys
            assert "2 Schedule" in tabs
    finally:
        await person.close()


async def test_new_ends_and_early_turns_to_waiting_as_the_clock_moves(
    practice: Practice,
) -> None:
    later, _ = await booked(practice, "Eli Early", timedelta(minutes=55))
    token = await link_of(practice, later)
    clock = [datetime.now(UTC)]
    async with running(practice, (100, 30), now=lambda: clock[0]) as (app, pilot):
        person = await arrive_with(practice, token)  # arrives while the dashboard runs
        try:
            await until(pilot, lambda: bool(lines_with(app, "Eli Early")), "the row")
            await until(pilot, lambda: "NEW" in lines_with(app, "Eli Early")[0], "marked NEW")
            assert "early " in lines_with(app, "Eli Early")[0]
            clock[0] = datetime.now(UTC) + NEW_FOR
            await until(pilot, lambda: "NEW" not in lines_with(app, "Eli Early")[0], "NEW ends")
            assert "early " in lines_with(app, "Eli Early")[0]
            clock[0] += timedelta(minutes=55)  # their session is due now
            await until(pilot, lambda: "early" not in lines_with(app, "Eli Early")[0], "due")
            assert "waiting" in lines_with(app, "Eli Early")[0]
        finally:
            await person.close()
