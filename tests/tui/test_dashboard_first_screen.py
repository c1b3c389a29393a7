"""The first screen with nobody waiting shows the day (issue 11, Dashboard): the next
sessions today, whether each can start and how to act; and the sync reads only the
clients on the clinician's days, never the whole client list."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tlh.tui.screens.people import PeopleScreen

from .conftest import Practice
from .helpers import Fakes, booked, lines_with, running, screen_text, until

SIZES = [(80, 24), (100, 30)]


@pytest.mark.parametrize("size", SIZES)
async def test_nobody_waiting_shows_the_next_sessions_and_how_to_act(
    practice: Practice, size: tuple[int, int]
) -> None:
    await booked(practice, "Nia Noconsent", timedelta(minutes=55), consent=False)
    fakes = Fakes()
    async with running(practice, size, fakes) as (app, pilot):
        screen = app.screen
        assert isinstance(screen, PeopleScreen)
        await until(
            pilot,
            lambda: any("✗" in line for line in lines_with(app, "Nia Noconsent")),
            "the next sessions, whether each can start",
        )
        assert "Nobody is waiting" in screen_text(app)
        assert "s starts" in screen_text(app)
        (now_row,) = lines_with(app, practice.client_name)
        (later_row,) = lines_with(app, "Nia Noconsent")
        assert "✓ can start" in now_row
        assert "✗ 2 reasons (e)" in later_row  # no consent, and too early
        assert screen.selected_appointment() == practice.appt_id  # the first, highlighted
        await pilot.press("s")
        await until(pilot, lambda: bool(fakes.opened), "started: the call page")


async def test_the_sync_reads_only_the_clients_on_the_clinicians_days(
    practice: Practice,
) -> None:
    async with practice.admin() as admin:
        on_day = (await admin.appointments.get(practice.appt_id)).client_ids[0]
        strangers = [(await admin.clients.add(f"Stranger {i}")).id for i in range(3)]
    upcoming, upcoming_client = await booked(practice, "Up Coming", timedelta(days=2))
    async with running(practice, (100, 30)) as (app, _):
        me = (await app.client.staff.me()).id
        assert upcoming in app.state.upcoming
        assert app.state.client_names[upcoming_client] == "Up Coming"
    async with practice.admin() as admin:
        reads = {
            e["target"]
            for e in await admin.audit.list()
            if e["action"] == "client.read" and e["actor"]["id"] == me
        }
    assert reads == {on_day, upcoming_client}
    assert not reads & set(strangers)
