"""The dashboard's asking actions against a real server: message, transfer, end the
session, send the link (adding a missing address), consent, status; Esc does nothing."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from textual.pilot import Pilot
from textual.widgets import Input

from tlh.domain.models import Status
from tlh.tui.app import DashboardApp
from tlh.tui.dialogs.choose import Choose
from tlh.tui.dialogs.confirm import Confirm
from tlh.tui.dialogs.prompt import Prompt
from tlh.tui.screens.schedule import ScheduleScreen

from .conftest import Practice
from .helpers import running, screen_text, until, waiting

SIZE = (120, 30)


def settled(app: DashboardApp) -> bool:
    """No action worker is still running (its dialog answered, its call made)."""
    return all(w.is_finished for w in app.workers if w.group == "actions")


async def answer(pilot: Pilot[Any], app: DashboardApp, text: str) -> None:
    """Type ``text`` into the prompt in front and press Enter."""
    await until(pilot, lambda: isinstance(app.screen, Prompt), "the prompt")
    app.screen.query_one(Input).value = text
    await pilot.press("enter")


async def pick(pilot: Pilot[Any], app: DashboardApp, label: str) -> None:
    """Move to the option shown as ``label`` in the choice in front and press Enter."""
    await until(pilot, lambda: isinstance(app.screen, Choose), "the choice")
    screen = app.screen
    assert isinstance(screen, Choose)
    keys = [key for key, shown in screen.options if shown == label]
    assert keys, f"{label!r} not offered"
    await pilot.press("home")
    for key, _ in screen.options:
        if key == keys[0]:
            break
        await pilot.press("down")
    await pilot.press("enter")


async def on_schedule(pilot: Pilot[Any], app: DashboardApp, appt_id: str) -> None:
    """Open the Schedule screen and move the cursor to ``appt_id`` with the arrow keys."""
    await pilot.press("2")
    await until(pilot, lambda: isinstance(app.screen, ScheduleScreen), "the schedule")
    screen = app.screen
    assert isinstance(screen, ScheduleScreen)
    await until(pilot, lambda: appt_id in screen.table.rows, "the appointment listed")
    for _ in range(screen.table.row_count):
        if screen.selected() == appt_id:
            break
        await pilot.press("down")
    assert screen.selected() == appt_id


async def another(practice: Practice, email: str | None = "bo@example.org") -> tuple[str, str]:
    """The clinician's next telehealth appointment (after the fixture's), for a new
    client: (appt, client). Late in the evening it falls on tomorrow: the Schedule lists
    it among the next days, where the actions work the same."""
    async with practice.admin() as admin:
        client = await admin.clients.add(f"Bo{secrets.token_hex(3)}", email=email)
        appt = await admin.appointments.add(
            client_ids=[client.id],
            clinicians=[practice.clinician_email],
            start=(datetime.now(UTC) + timedelta(minutes=55)).isoformat(),
            duration_min=50,
            modality="telehealth",
            status="confirmed",
        )
    return appt[0].id, client.id


async def test_m_messages_the_selected_person(practice: Practice) -> None:
    async with (
        running(practice, SIZE, notifications=True) as (app, pilot),
        waiting(pilot, practice) as person,
    ):
        await pilot.press("m")
        await until(pilot, lambda: isinstance(app.screen, Prompt), "the prompt")
        assert f"Message to {practice.client_name}" in screen_text(app)
        await pilot.press(*"hello", "space", *"there", "enter")
        await until(pilot, lambda: person.messages == ["hello there"], "the message")
        await until(pilot, lambda: "message sent" in screen_text(app), "the toast")
        assert not isinstance(app.screen, Prompt)


async def test_shift_m_messages_everyone_waiting_and_counts(practice: Practice) -> None:
    async with (
        running(practice, SIZE, notifications=True) as (app, pilot),
        waiting(pilot, practice) as person,
        waiting(pilot, practice, display_name="Guest [b]Kim[/b]") as guest,
    ):
        await until(pilot, lambda: len(app.state.waiting()) == 2, "both waiting")
        await pilot.press("M")
        await answer(pilot, app, "running 5 minutes late")
        await until(pilot, lambda: "message sent to 2 waiting" in screen_text(app), "2")
        assert person.messages == ["running 5 minutes late"]
        assert guest.messages == ["running 5 minutes late"]


async def test_t_transfers_to_the_other_clinicians_room(practice: Practice) -> None:
    async with practice.admin() as admin:
        other = await admin.staff.add(
            "moss@example.org", "Dr [i]Moss", "clinician", telehealth=True
        )
        await admin.staff.add("desk@example.org", "Front Desk", "scheduler")
    async with (
        running(practice, SIZE, notifications=True) as (app, pilot),
        waiting(pilot, practice) as person,
    ):
        await pilot.press("t")
        await until(pilot, lambda: isinstance(app.screen, Choose), "the clinicians")
        screen = app.screen
        assert isinstance(screen, Choose)
        # Only the other telehealth clinician; the name shown literally.
        assert [key for key, _ in screen.options] == [other.staff.id]
        assert "Dr [i]Moss <moss@example.org>" in screen_text(app)
        await pick(pilot, app, "Dr [i]Moss <moss@example.org>")
        await until(pilot, lambda: person.entry_id not in app.state.entries, "moved")
        async with practice.admin() as admin:
            rooms = await admin.rooms.list(clinician=other.staff.id)
        moved = [e for room in rooms.items for e in room.entries]
        assert [e.id for e in moved] == [person.entry_id]


async def test_x_ends_the_open_session_after_confirming(practice: Practice) -> None:
    async with (
        running(practice, SIZE, notifications=True) as (app, pilot),
        waiting(pilot, practice) as person,
    ):
        await pilot.press("a")
        await until(pilot, lambda: person.state != "waiting", "admitted")
        await pilot.press("x")
        await until(pilot, lambda: isinstance(app.screen, Confirm), "the question")
        assert f"End the session with {practice.client_name}?" in screen_text(app)
        await pilot.press("enter")
        await until(pilot, lambda: settled(app), "the action done")
        segments = await app.client.sessions.list()
        ours = [s for s in segments if s.appointment_id == practice.appt_id]
        assert len(ours) == 1
        assert ours[0].ended_at is not None
        assert "session ended" in screen_text(app)


async def test_l_asks_for_a_missing_email_then_sends_the_link(practice: Practice) -> None:
    appt_id, client_id = await another(practice, email=None)
    async with running(practice, SIZE, notifications=True) as (app, pilot):
        await on_schedule(pilot, app, appt_id)
        await pilot.press("l")
        await pick(pilot, app, "Email")
        await answer(pilot, app, "not an address")
        await until(pilot, lambda: "invalid email address" in screen_text(app), "refused")
        assert isinstance(app.screen, Prompt)
        async with practice.admin() as admin:
            assert [m for m in await admin.outbox.list() if m.appointment_id == appt_id] == []
        await answer(pilot, app, "Bo.New@Example.org")
        await until(pilot, lambda: settled(app), "the action done")
        assert not isinstance(app.screen, Prompt)
        assert "link sent by email" in screen_text(app)
        async with practice.admin() as admin:
            sent = [m for m in await admin.outbox.list() if m.appointment_id == appt_id]
            saved = await admin.clients.get(client_id)
        assert [(m.kind.value, m.to) for m in sent] == [("invitation", "bo.new@example.org")]
        assert saved.email == "bo.new@example.org"


async def test_c_sends_consent_and_v_records_verbal_consent(practice: Practice) -> None:
    async with practice.admin() as admin:
        appt = await admin.appointments.get(practice.appt_id)
        client_id = appt.client_ids[0]
        await admin.consents.revoke(client_id)
    async with running(practice, SIZE, notifications=True) as (app, pilot):
        await on_schedule(pilot, app, practice.appt_id)
        await pilot.press("c")
        await pick(pilot, app, "Email")
        await until(pilot, lambda: settled(app), "the consent sent")
        assert "consent form sent by email" in screen_text(app)
        await pilot.press("v")
        await answer(pilot, app, "")
        await until(pilot, lambda: "A note is required." in screen_text(app), "required")
        await answer(pilot, app, "agreed by phone, form read aloud")
        await until(pilot, lambda: settled(app), "the consent recorded")
    async with practice.admin() as admin:
        sent = [m for m in await admin.outbox.list() if m.client_id == client_id]
        (status,) = await admin.consents.list(client_id)
    assert [(m.kind.value, m.to) for m in sent] == [("consent_request", "ana@example.org")]
    assert status.state == "valid"
    assert status.latest is not None
    assert status.latest.note == "agreed by phone, form read aloud"


async def test_shift_s_sets_the_status(practice: Practice) -> None:
    async with running(practice, SIZE, notifications=True) as (app, pilot):
        await on_schedule(pilot, app, practice.appt_id)
        await pilot.press("S")
        await until(pilot, lambda: isinstance(app.screen, Choose), "the statuses")
        screen = app.screen
        assert isinstance(screen, Choose)
        assert [label for _, label in screen.options] == ["checked in", "occurred", "missed"]
        await pick(pilot, app, "missed")
        await until(pilot, lambda: settled(app), "the status set")
        assert app.state.appointments[practice.appt_id].status == Status.MISSED
        await until(pilot, lambda: "missed" in screen_text(app), "the row updated")
        # From missed, only "occurred" of the three is allowed.
        await pilot.press("S")
        await until(pilot, lambda: isinstance(app.screen, Choose), "the statuses again")
        again = app.screen
        assert isinstance(again, Choose)
        assert [label for _, label in again.options] == ["occurred"]
        await pilot.press("escape")
    async with practice.admin() as admin:
        assert (await admin.appointments.get(practice.appt_id)).status == Status.MISSED


async def test_escape_in_every_dialog_changes_nothing(practice: Practice) -> None:
    async with (
        running(practice, SIZE, notifications=True) as (app, pilot),
        waiting(pilot, practice) as person,
    ):

        async def escaped(*keys_and_dialogs: tuple[str, type]) -> None:
            for key, dialog in keys_and_dialogs:
                await pilot.press(key)
                await until(pilot, lambda d=dialog: isinstance(app.screen, d), key)
                await pilot.press("escape")
                await until(pilot, lambda: settled(app), f"{key} closed")

        # Waiting: message, deny and admit-all ask first.
        await escaped(("m", Prompt), ("d", Confirm), ("A", Confirm))
        assert person.state == "waiting"
        await pilot.press("a")
        await until(pilot, lambda: person.state != "waiting", "admitted")
        await escaped(("x", Confirm), ("S", Choose), ("l", Choose))
        # Locked: no action runs, no dialog opens.
        await pilot.press("ctrl+l")
        await until(pilot, lambda: app.locked, "locked")
        await pilot.press("m")
        await until(pilot, lambda: settled(app), "nothing started")
        assert not isinstance(app.screen, Prompt)
        segments = await app.client.sessions.list()
        appt = await app.client.appointments.get(practice.appt_id)
    assert person.messages == []
    assert [s.ended_at for s in segments if s.appointment_id == practice.appt_id] == [None]
    assert appt.status == Status.CONFIRMED
    async with practice.admin() as admin:
        assert [m for m in await admin.outbox.list() if m.appointment_id == practice.appt_id] == []
