"""The command palette and the mouse: every key is a command; a People row opens the
person's menu, whose buttons run the actions; footer keys are clickable."""

from __future__ import annotations

from textual.command import CommandList, CommandPalette
from textual.widgets import Button

from tlh.domain.rooms import EntryState
from tlh.tui.app import DashboardApp
from tlh.tui.dialogs.explain import ExplainScreen
from tlh.tui.dialogs.person_menu import PersonMenu
from tlh.tui.keybar import KeyBar
from tlh.tui.lock import LockScreen
from tlh.tui.screens.people import PeopleScreen

from .conftest import Practice
from .helpers import Fakes, lines_with, running, screen_text, until, waiting

SIZE = (120, 40)


def titles(commands: CommandList) -> dict[str, str]:
    """The palette's commands shown now: title → the help line under it."""
    shown = (str(commands.get_option_at_index(i).prompt) for i in range(commands.option_count))
    return dict((*line.split("\n", 1), "")[:2] for line in shown)


def admitted(app: DashboardApp, entry_id: str) -> bool:
    entry = app.state.entries.get(entry_id)
    return entry is not None and entry.state != EntryState.WAITING


async def test_the_palette_lists_every_key_and_admit_admits_the_selected_person(
    practice: Practice,
) -> None:
    fakes = Fakes()
    async with running(practice, SIZE, fakes) as (app, pilot), waiting(pilot, practice) as person:
        await pilot.press("ctrl+p")
        await until(pilot, lambda: isinstance(app.screen, CommandPalette), "palette")
        commands = app.screen.query_one(CommandList)
        await until(pilot, lambda: "Theme" in titles(commands), "the commands")
        found = titles(commands)
        for title in ("Admit", "Deny", "Send back", "People", "Schedule", "Quit"):
            assert title in found, title
        assert found["Schedule"].startswith("key 2 · Switch between the numbered screens")
        assert found["Quit"] == "key ^q, q"
        assert "key a · Admit the selected person" in screen_text(app)
        await pilot.press(*"admit")
        await until(
            pilot,
            lambda: commands.highlighted is not None and commands.option_count == 2,
            "Admit and Admit all",
        )
        assert commands.highlighted is not None
        top = str(commands.get_option_at_index(commands.highlighted).prompt)
        assert top.startswith("Admit")
        assert "Admit all" not in top
        await pilot.press("enter")
        await until(pilot, lambda: admitted(app, person.entry_id), "admitted")
        await until(pilot, lambda: len(fakes.opened) == 1, "the call page")
        assert isinstance(app.screen, PeopleScreen)


async def test_the_palette_does_not_open_while_locked(practice: Practice) -> None:
    async with running(practice, SIZE) as (app, pilot):
        await pilot.press("ctrl+l")
        await until(pilot, lambda: isinstance(app.screen, LockScreen), "the lock")
        await pilot.press("ctrl+p")
        await pilot.pause()
        assert isinstance(app.screen, LockScreen)
        assert not await app.run_action("admit")
        await pilot.press("u")
        await until(pilot, lambda: not app.locked, "unlocked")
        await pilot.press("ctrl+p")
        await until(pilot, lambda: isinstance(app.screen, CommandPalette), "the palette")


async def test_a_click_on_a_person_opens_their_menu_and_admit_admits(
    practice: Practice,
) -> None:
    fakes = Fakes()
    async with running(practice, SIZE, fakes) as (app, pilot), waiting(pilot, practice) as person:
        screen = app.screen
        assert isinstance(screen, PeopleScreen)
        await until(pilot, lambda: screen.selected_entry() == person.entry_id, "the row")
        await until(pilot, lambda: bool(lines_with(app, practice.client_name)), "drawn")
        await pilot.pause()  # the table rebuilt for people lays its rows out when idle
        await pilot.click(screen.table, offset=(1, 1))  # the highlighted row
        await until(pilot, lambda: isinstance(app.screen, PersonMenu), "the menu")
        menu = app.screen
        labels = {str(b.label): b for b in menu.query(Button)}
        for label in ("Admit (a)", "Deny (d)", "Message (m)", "Explain (e)"):
            assert label in labels, label
        # Only what applies to someone waiting: not "Send back", not the screens.
        assert not any(label.startswith(("Send back", "Admit all", "People")) for label in labels)
        assert practice.client_name in screen_text(app)
        await pilot.click(labels["Admit (a)"])
        await until(pilot, lambda: admitted(app, person.entry_id), "admitted")
        assert len(fakes.opened) == 1
        assert isinstance(app.screen, PeopleScreen)


async def test_the_key_bar_shows_the_screens_and_its_keys_are_clickable(
    practice: Practice,
) -> None:
    async with running(practice, (80, 24)) as (app, pilot):
        bar = app.screen.query_one(KeyBar)
        await until(pilot, lambda: "Explain" in str(bar.render()), "the key bar")
        top, tabs = str(bar.render()).splitlines()
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
        assert top.rstrip().endswith("^p Keys  q Quit")
        assert len(top) <= 80
        # A click on a key runs it: explain the session highlighted (nobody waits yet).
        await pilot.click(bar, offset=(top.index("e Explain") + 1, 0))
        await until(pilot, lambda: isinstance(app.screen, ExplainScreen), "the reasons")
        await pilot.press("escape")
        # A click on a tab switches to that screen.
        await pilot.click(bar, offset=(tabs.index("2 Schedule") + 1, 1))
        await until(pilot, lambda: app.screen.id == "schedule", "the schedule")
