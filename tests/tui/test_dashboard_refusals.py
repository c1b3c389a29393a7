"""One way to be told no: admit and start refused show the same dialog, naming the
person and their session and, for each reason, the key that fixes it; that key
pressed there does it (issue 22, item 6)."""

from __future__ import annotations

import pytest
from textual.screen import Screen
from textual.widgets import Input, Static

from tlh.tui.dialogs.explain import ExplainScreen
from tlh.tui.dialogs.prompt import Prompt
from tlh.tui.screens.people import PeopleScreen

from .conftest import Practice
from .helpers import Fakes, arrive_with, link_of, running, screen_text, until

SIZES = [(80, 24), (100, 30)]


def said(dialog: Screen[object]) -> str:
    """What a dialog says, its lines joined (as wrapped on screen, but without the box)."""
    return " ".join(str(w.render()) for w in dialog.query(Static))


FIX = "consent revoked — press v to record verbal consent, c to send the form"


@pytest.mark.parametrize("size", SIZES)
async def test_admit_and_start_refused_name_the_person_and_the_keys_that_fix_it(
    practice: Practice, size: tuple[int, int]
) -> None:
    async with practice.admin() as admin:
        client_id = (await admin.appointments.get(practice.appt_id)).client_ids[0]
        await admin.consents.revoke(client_id)
    person = await arrive_with(practice, await link_of(practice, practice.appt_id))
    fakes = Fakes()
    try:
        async with running(practice, size, fakes, notifications=True) as (app, pilot):
            screen = app.screen
            assert isinstance(screen, PeopleScreen)
            await until(pilot, lambda: screen.selected_entry() == person.entry_id, "the row")
            for key in ("a", "s"):  # admit (which starts the session) and start: one way
                await pilot.press(key)
                await until(pilot, lambda: isinstance(app.screen, ExplainScreen), f"{key}: why")
                shown = said(app.screen)
                assert f"{practice.client_name} (" in shown
                assert "cannot start:" in shown
                assert FIX in shown
                assert client_id not in shown
                assert "cli_" not in shown
                await pilot.press("escape")
                await until(pilot, lambda: app.screen is screen, "closed")
            # v in the dialog records the verbal consent of that client.
            await pilot.press("a")
            await until(pilot, lambda: isinstance(app.screen, ExplainScreen), "why, again")
            await pilot.press("v")
            await until(pilot, lambda: isinstance(app.screen, Prompt), "the note asked")
            assert f"Verbal consent of {practice.client_name}" in screen_text(app)
            app.screen.query_one(Input).value = "agreed by phone just now"
            await pilot.press("enter")
            await until(pilot, lambda: "verbal consent recorded" in screen_text(app), "recorded")
            # Now a lets them in.
            await until(pilot, lambda: app.screen is screen, "back")
            await until(pilot, lambda: screen.selected_entry() == person.entry_id, "the row")
            await pilot.press("a")
            await until(pilot, lambda: person.state != "waiting", "admitted")
            assert fakes.opened
    finally:
        await person.close()
