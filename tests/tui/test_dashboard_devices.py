"""A second device approved from the dashboard (issue 18, item 2: ``a`` asks first, the
person menu and the palette offer it); Enter on a notification opens that client's
session actions (issue 18, item 10)."""

from __future__ import annotations

import pytest
from textual.command import CommandList, CommandPalette
from textual.widgets import Button

from tlh.domain.rooms import EntryState
from tlh.tui.dialogs.confirm import Confirm
from tlh.tui.dialogs.person_menu import PersonMenu
from tlh.tui.screens.notifications import NotificationsScreen
from tlh.tui.screens.people import PeopleScreen

from .conftest import Practice
from .helpers import Fakes, arrive_with, lines_with, link_of, running, screen_text, until

SIZES = [(80, 24), (100, 30)]


async def two_devices(practice: Practice) -> tuple[object, object]:
    """The client on their phone, then the same link on their laptop."""
    token = await link_of(practice, practice.appt_id)
    phone = await arrive_with(practice, token, "phone")
    laptop = await arrive_with(practice, token, "laptop")
    return phone, laptop


def let_in(app: object, entry_id: str) -> bool:
    entry = app.state.entries.get(entry_id)  # type: ignore[attr-defined]
    return entry is not None and entry.state is not EntryState.WAITING


@pytest.mark.parametrize("size", SIZES)
async def test_a_on_a_second_device_asks_then_approves_it(
    practice: Practice, size: tuple[int, int]
) -> None:
    phone, laptop = await two_devices(practice)
    try:
        async with running(practice, size, notifications=True) as (app, pilot):
            await until(pilot, lambda: laptop.entry_id in app.state.entries, "both")
            assert app.state.entries[laptop.entry_id].second_device
            await until(pilot, lambda: bool(lines_with(app, "2nd device")), "flagged")
            screen = app.screen
            assert isinstance(screen, PeopleScreen)
            while screen.selected_entry() != laptop.entry_id:
                await pilot.press("down")
            await pilot.press("a")
            await until(pilot, lambda: isinstance(app.screen, Confirm), "asked first")
            assert "another device" in screen_text(app)
            await pilot.press("enter")
            await until(pilot, lambda: laptop.state != "waiting", "the laptop let in")
            assert "approve it" not in screen_text(app)  # no refusal toast
    finally:
        await phone.close()
        await laptop.close()


async def test_the_person_menu_and_the_palette_offer_approval(practice: Practice) -> None:
    phone, laptop = await two_devices(practice)
    try:
        async with running(practice, (100, 30), Fakes()) as (app, pilot):
            await until(pilot, lambda: laptop.entry_id in app.state.entries, "both")
            screen = app.screen
            assert isinstance(screen, PeopleScreen)
            while screen.selected_entry() != laptop.entry_id:
                await pilot.press("down")
            await pilot.press("ctrl+p")
            await until(pilot, lambda: isinstance(app.screen, CommandPalette), "palette")
            commands = app.screen.query_one(CommandList)
            await pilot.press(*"approve")
            await until(pilot, lambda: commands.option_count >= 1, "found")
            assert "Approve 2nd device" in str(commands.get_option_at_index(0).prompt)
            await pilot.press("escape")
            await until(pilot, lambda: app.screen is screen, "closed")
            await pilot.press("enter")
            await until(pilot, lambda: isinstance(app.screen, PersonMenu), "the menu")
            labels = {str(b.label): b for b in app.screen.query(Button)}
            assert "Approve 2nd device (D)" in labels
            await pilot.click(labels["Approve 2nd device (D)"])
            await until(pilot, lambda: laptop.state != "waiting", "approved and let in")
            assert phone.state == "waiting"
    finally:
        await phone.close()
        await laptop.close()


@pytest.mark.parametrize("size", SIZES)
async def test_enter_on_consent_accepted_opens_that_clients_session_actions(
    practice: Practice, size: tuple[int, int]
) -> None:
    fakes = Fakes()
    async with running(practice, size, fakes) as (app, pilot):
        async with practice.admin() as admin:
            client_id = (await admin.appointments.get(practice.appt_id)).client_ids[0]
            await admin.consents.verbal(client_id, "agreed again")
        await until(pilot, lambda: bool(app.state.notifications), "the notification")
        await pilot.press("3")
        await until(pilot, lambda: isinstance(app.screen, NotificationsScreen), "screen 3")
        await until(pilot, lambda: "consent accepted" in screen_text(app), "listed")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, PersonMenu), "the session's actions")
        menu = app.screen
        assert f"{practice.client_name} (" in screen_text(app)
        labels = {str(b.label): b for b in menu.query(Button)}
        assert "Start (s)" in labels
        assert "Explain (e)" in labels
        await pilot.click(labels["Start (s)"])
        await until(pilot, lambda: bool(fakes.opened), "the session started, its call page")
        segments = await app.client.sessions.list()
        assert [s.appointment_id for s in segments if s.ended_at is None] == [practice.appt_id]
