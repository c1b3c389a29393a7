"""An admin's People screen names whose room each person waits in, and shows one
clinician's room on request (issue 22, item 9)."""

from __future__ import annotations

import secrets

import pytest

from tlh.tui.dialogs.choose import Choose
from tlh.tui.screens.people import PeopleScreen

from .conftest import Practice
from .helpers import Fakes, arrive_with, dashboard, lines_with, link_of, until
from .test_dashboard_actions import pick

SIZES = [(80, 24), (100, 30)]


@pytest.mark.parametrize("size", SIZES)
async def test_the_admin_sees_each_room_and_filters_by_clinician(
    practice: Practice, size: tuple[int, int]
) -> None:
    email = f"moss-{secrets.token_hex(3)}@example.org"
    async with practice.admin() as admin:
        await admin.staff.add(email, "Dr Moss", "clinician", telehealth=True)
        guest_link = (await admin.invites.guest(email)).url.split("#", 1)[1]
    ana = await arrive_with(practice, await link_of(practice, practice.appt_id))
    guest = await arrive_with(practice, guest_link)
    try:
        async with practice.admin() as client:
            app = dashboard(client, Fakes())
            async with app.run_test(size=size) as pilot:
                await until(pilot, app.feed.synced.is_set, "the first sync")
                await until(pilot, lambda: len(app.state.waiting()) == 2, "both rooms")
                screen = app.screen
                assert isinstance(screen, PeopleScreen)
                await until(pilot, lambda: bool(lines_with(app, "Dr Moss")), "the room named")
                assert "Room" in screen.table.columns["room"].label.plain
                (row,) = lines_with(app, practice.client_name)
                assert "Dr Lee" in row
                await pilot.press("f")
                await until(pilot, lambda: isinstance(app.screen, Choose), "the rooms")
                await pick(pilot, app, "Dr Moss")
                await until(pilot, lambda: not lines_with(app, practice.client_name), "filtered")
                assert [e.id for e in app.state.waiting()] == [guest.entry_id]
                assert lines_with(app, "Dr Moss")
                await pilot.press("f")
                await pick(pilot, app, "Everyone")
                await until(pilot, lambda: len(app.state.waiting()) == 2, "every room again")
    finally:
        await ana.close()
        await guest.close()


async def test_a_clinician_has_no_room_column_nor_filter(practice: Practice) -> None:
    from .helpers import running, screen_text

    async with running(practice, (100, 30), notifications=True) as (app, pilot):
        await pilot.press("f")
        await until(pilot, lambda: "only admins see every room" in screen_text(app), "said why")
        assert not isinstance(app.screen, Choose)
