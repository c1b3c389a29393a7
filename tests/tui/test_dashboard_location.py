"""The dashboard shows where the client said they are (issue 13, item 7; policy
``ask_location``): in the person menu of a waiting row, and of the row once in session."""

from __future__ import annotations

import asyncio

from tlh.domain.rooms import EntryState
from tlh.tui.dialogs.person_menu import PersonMenu
from tlh.tui.screens.people import PeopleScreen

from .conftest import Practice
from .helpers import WAIT_S, link_of, running, screen_text, until

PLACE = "4 Quay Street, Bangor, ME"
PHONE = "+12075550188"


async def test_the_clinician_sees_the_clients_location_in_the_person_menu(
    practice: Practice,
) -> None:
    from tlh.media.participant import Participant

    async with practice.admin() as admin:
        await admin.practice.update(ask_location="telehealth")
    token = await link_of(practice, practice.appt_id)
    person = Participant(
        practice.url,
        link_token=token,
        audio=False,
        video=False,
        location=(PLACE, "207 555 0188"),
    )
    try:
        await person.start()
        await asyncio.wait_for(person.wait_state("waiting", within=WAIT_S), WAIT_S + 1)
        async with running(practice, (100, 30)) as (app, pilot):
            await until(pilot, lambda: person.entry_id in app.state.entries, "the arrival")
            screen = app.screen
            assert isinstance(screen, PeopleScreen)
            assert PLACE not in screen_text(app)  # not on the shared screen's rows
            await until(pilot, lambda: screen.selected_entry() == person.entry_id, "the row")
            await pilot.press("enter")
            await until(pilot, lambda: isinstance(app.screen, PersonMenu), "the menu")
            shown = screen_text(app)
            assert f"location {PLACE} · phone {PHONE}" in shown
            await pilot.press("escape")
            await until(pilot, lambda: app.screen is screen, "closed")

            async with practice.clinician() as lee:
                await lee.rooms.admit(str(person.entry_id))
            entry = lambda: app.state.entries.get(str(person.entry_id))  # noqa: E731
            await until(
                pilot,
                lambda: (e := entry()) is not None and e.state is not EntryState.WAITING,
                "let in",
            )
            await until(pilot, lambda: screen.selected_entry() == person.entry_id, "the row")
            await pilot.press("enter")
            await until(pilot, lambda: isinstance(app.screen, PersonMenu), "the menu again")
            assert f"location {PLACE} · phone {PHONE}" in screen_text(app)
    finally:
        await person.close()
