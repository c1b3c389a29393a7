"""The idle lock per policy: ``u`` unlocks (the default), or the API token typed again;
a wrong token keeps every name hidden, five in a row close the dashboard."""

from __future__ import annotations

from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from tlh.cli.commands.practice import parse_policy_value
from tlh.errors import InvalidInput
from tlh.tui.app import DashboardApp
from tlh.tui.lock import MAX_TRIES, TOO_MANY, WRONG, LockScreen
from tlh.tui.screens.schedule import ScheduleScreen

from .conftest import Practice
from .helpers import running, screen_text, until

SIZE = (100, 30)


async def token_mode(practice: Practice) -> None:
    async with practice.admin() as admin:
        policy = await admin.practice.update(
            dashboard_unlock=parse_policy_value("dashboard_unlock", "token")
        )
    assert policy.dashboard_unlock == "token"


async def lock_on_schedule(app: DashboardApp, pilot: Pilot[Any], practice: Practice) -> None:
    """The schedule shows the client's name, then ctrl+l hides it."""
    await pilot.press("2")
    await until(pilot, lambda: isinstance(app.screen, ScheduleScreen), "the schedule")
    await until(pilot, lambda: practice.client_name in screen_text(app), "the name")
    await pilot.press("ctrl+l")
    await until(pilot, lambda: isinstance(app.screen, LockScreen), "the lock")
    await until(pilot, lambda: "Locked" in screen_text(app), "the lock drawn")


async def submit(app: DashboardApp, text: str) -> None:
    """Type ``text`` into the lock's token field (as a paste) and press Enter."""
    field = app.screen.query_one("#lock-token", Input)
    field.insert_text_at_cursor(text)
    await field.action_submit()


async def test_token_mode_a_wrong_token_keeps_names_hidden_the_right_one_unlocks(
    practice: Practice,
) -> None:
    await token_mode(practice)
    async with running(practice, SIZE) as (app, pilot):
        await lock_on_schedule(app, pilot, practice)
        assert "Type your API token" in screen_text(app)
        await pilot.press("u")  # not enough in token mode (and typed into the field)
        await pilot.press(*"x", "enter")
        await until(pilot, lambda: WRONG in screen_text(app), "the refusal")
        assert app.locked
        assert practice.client_name not in screen_text(app)
        await submit(app, practice.clinician_token + "x")
        await pilot.pause()
        assert app.locked
        assert practice.client_name not in screen_text(app)
        await submit(app, practice.clinician_token)
        await until(pilot, lambda: not app.locked, "unlocked")
        await until(pilot, lambda: practice.client_name in screen_text(app), "names back")


async def test_token_mode_five_wrong_tokens_close_the_dashboard(practice: Practice) -> None:
    await token_mode(practice)
    async with running(practice, SIZE) as (app, pilot):
        await lock_on_schedule(app, pilot, practice)
        for _ in range(MAX_TRIES - 1):
            await submit(app, "tlh_wrong")
        await pilot.pause()
        assert app.locked
        assert app.return_code is None
        await submit(app, "tlh_wrong")
        await until(pilot, lambda: app.return_code == 1, "the exit")
    assert app.feed.failure == TOO_MANY


async def test_key_mode_u_unlocks_and_asks_for_no_token(practice: Practice) -> None:
    async with running(practice, SIZE) as (app, pilot):
        await lock_on_schedule(app, pilot, practice)
        assert not app.screen.query(Input)
        assert "Press u to unlock" in screen_text(app)
        assert practice.client_name not in screen_text(app)
        await pilot.press("u")
        await until(pilot, lambda: not app.locked, "unlocked")
        await until(pilot, lambda: practice.client_name in screen_text(app), "names back")


async def test_the_policy_refuses_an_unknown_unlock_mode(practice: Practice) -> None:
    async with practice.admin() as admin:
        with pytest.raises(InvalidInput) as refused:
            await admin.practice.update(dashboard_unlock="fingerprint")
        assert "dashboard_unlock" in refused.value.message
        assert (await admin.practice.get()).dashboard_unlock == "key"
