"""The Schedule against a real server: the clinician's own appointments today and the
next days, kept current from events (added, cancelled, moved to another clinician,
consent changing whether a session can start) without reconnecting."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from tlh.tui.screens.schedule import ScheduleScreen

from .conftest import Practice
from .helpers import running, screen_text, until

SIZE = (120, 30)


async def _book(practice: Practice, clinician: str, start: datetime) -> tuple[str, str]:
    """A telehealth appointment for a new client with an email: (appointment, client)."""
    async with practice.admin() as admin:
        client = await admin.clients.add(f"Cy{secrets.token_hex(3)}", email="cy@example.org")
        await admin.consents.verbal(client.id, "agreed by phone")
        [appt] = await admin.appointments.add(
            client_ids=[client.id],
            clinicians=[clinician],
            start=start.isoformat(),
            duration_min=50,
            modality="telehealth",
            status="confirmed",
        )
    return appt.id, client.name


async def _other_clinician(practice: Practice) -> str:
    async with practice.admin() as admin:
        made = await admin.staff.add(
            f"clin-{secrets.token_hex(4)}@example.org", "Dr Moss", "clinician", telehealth=True
        )
    return made.staff.email


async def test_the_clinicians_own_day_and_the_next_days_are_listed(practice: Practice) -> None:
    moss = await _other_clinician(practice)
    theirs, _ = await _book(practice, moss, datetime.now(UTC))
    in_three_days = datetime.now(UTC) + timedelta(days=3)
    later, later_name = await _book(practice, practice.clinician_email, in_three_days)
    async with running(practice, SIZE) as (app, pilot):
        await pilot.press("2")
        await until(pilot, lambda: isinstance(app.screen, ScheduleScreen), "the schedule")
        screen = app.screen
        assert isinstance(screen, ScheduleScreen)
        await until(pilot, lambda: later in screen.table.rows, "the later appointment")
        assert practice.appt_id in screen.table.rows
        assert theirs not in screen.table.rows  # another clinician's day is not theirs
        shown = screen_text(app)
        when = in_three_days.astimezone(ZoneInfo(app.state.zone)).strftime("%a %H:%M")
        assert when in shown
        assert later_name in shown
        assert "1 upcoming" in shown


async def test_changes_arrive_live_added_cancelled_and_moved_away(practice: Practice) -> None:
    moss = await _other_clinician(practice)
    async with running(practice, SIZE) as (app, pilot):
        await pilot.press("2")
        await until(pilot, lambda: isinstance(app.screen, ScheduleScreen), "the schedule")
        screen = app.screen
        assert isinstance(screen, ScheduleScreen)
        start = datetime.now(UTC) + timedelta(days=2)
        added, name = await _book(practice, practice.clinician_email, start)
        await until(pilot, lambda: added in screen.table.rows, "the new appointment")
        await until(pilot, lambda: name in screen_text(app), "its client's name")
        async with practice.admin() as admin:
            await admin.appointments.cancel(added)
        await until(
            pilot, lambda: app.state.upcoming[added].status.value == "cancelled", "cancelled"
        )
        await until(pilot, lambda: "cancelled" in screen_text(app), "shown cancelled")
        async with practice.admin() as admin:
            await admin.appointments.update(practice.appt_id, clinicians=[moss])
        await until(pilot, lambda: practice.appt_id not in screen.table.rows, "moved away")


async def test_revoked_consent_turns_can_start_to_no_live(practice: Practice) -> None:
    async with running(practice, SIZE) as (app, pilot):
        await until(
            pilot,
            lambda: (
                app.state.eligibility.get(practice.appt_id) is not None
                and app.state.eligibility[practice.appt_id].can_start
            ),
            "can start",
        )
        async with practice.admin() as admin:
            client_id = (await admin.appointments.get(practice.appt_id)).client_ids[0]
            await admin.consents.revoke(client_id)
        await until(
            pilot, lambda: not app.state.eligibility[practice.appt_id].can_start, "cannot start"
        )
        codes = [b.code for b in app.state.eligibility[practice.appt_id].blockers]
        assert codes == ["consent_revoked"]
