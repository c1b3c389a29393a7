"""The Schedule at a glance (issue 22, item 8): the session now marked with the cursor
on it, statuses in words, each session's state, no ``…`` left waiting, and a no-show
there is a no-show in Reports."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tlh.tui.screens.reports import ReportsScreen
from tlh.tui.screens.schedule import NOW_MARK, ScheduleScreen

from .conftest import Practice
from .helpers import at_midday, booked, running, screen_text, until

SIZES = [(80, 24), (100, 30)]


@pytest.mark.parametrize("size", SIZES)
async def test_the_schedule_marks_now_and_says_each_sessions_state(
    practice: Practice, size: tuple[int, int]
) -> None:
    await at_midday(practice)
    # Earlier today, nobody came; later today, checked in early; tomorrow.
    missed, _ = await booked(practice, "Mo Missed", -timedelta(minutes=10), duration_min=5)
    later, _ = await booked(practice, "Lu Later", timedelta(minutes=55), status="checked_in")
    tomorrow, _ = await booked(practice, "To Morrow", timedelta(days=1, hours=1))
    async with running(practice, size) as (app, pilot):
        await until(pilot, lambda: not app.state.checking, "every check answered")
        await pilot.press("2")
        await until(pilot, lambda: isinstance(app.screen, ScheduleScreen), "the schedule")
        screen = app.screen
        assert isinstance(screen, ScheduleScreen)

        def cell(appt_id: str, column: str) -> str:
            return str(screen.table.get_cell(appt_id, column).plain)

        await until(pilot, lambda: tomorrow in screen.table.rows, "the rows")
        # The session now is marked, and the cursor is on it.
        assert cell(practice.appt_id, "now") == NOW_MARK
        assert [cell(a, "now") for a in (missed, later, tomorrow)] == ["", "", ""]
        assert screen.selected_appointment() == practice.appt_id
        # Statuses in words; what became of each session.
        assert cell(later, "status") == "checked in"
        assert cell(missed, "session") == "no-show"
        assert cell(practice.appt_id, "session") == ""
        # Nothing is left at "…": a session over or on another day is not asked about.
        assert "…" not in [cell(a, "eligible") for a in (missed, later, tomorrow)]
        assert cell(practice.appt_id, "eligible") == "✓ yes"
        # Started: in session; ended: ended.
        started = await app.client.sessions.start(practice.appt_id)
        await until(pilot, lambda: cell(practice.appt_id, "session") == "in session", "started")
        await app.client.sessions.end(started.session.id)
        await until(pilot, lambda: cell(practice.appt_id, "session") == "ended", "ended")


async def test_a_no_show_on_the_schedule_is_one_in_reports(practice: Practice) -> None:
    await at_midday(practice)
    missed, _ = await booked(practice, "Mo Missed", -timedelta(minutes=10), duration_min=5)
    async with running(practice, (100, 30)) as (app, pilot):
        await pilot.press("2")
        await until(pilot, lambda: isinstance(app.screen, ScheduleScreen), "the schedule")
        screen = app.screen
        assert isinstance(screen, ScheduleScreen)
        await until(pilot, lambda: missed in screen.table.rows, "the row")
        shown = [str(screen.table.get_cell(a, "session").plain) for a in screen.table.rows]
        assert shown.count("no-show") == 1
        await pilot.press("4")
        await until(pilot, lambda: isinstance(app.screen, ReportsScreen), "reports")
        await until(pilot, lambda: "Attendance:" in screen_text(app), "the figures")
        await until(pilot, lambda: "no-show 1 " in screen_text(app) + " ", "one no-show")
