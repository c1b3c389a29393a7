"""The dashboard's pure model and its alerts, without a server."""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec

from tlh.api.events import StaffEvent
from tlh.api.rooms import EntryView, Rooms, RoomView
from tlh.domain.links import Channel, ParticipantKind
from tlh.domain.rooms import EntryState
from tlh.tui.alerts import Alerts
from tlh.tui.lock import IdleClock
from tlh.tui.state import MAX_NOTIFICATIONS, Connection, DashboardState, clean

T0 = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)


def entry(i: int, state: EntryState = EntryState.WAITING, **kw: object) -> EntryView:
    fields: dict[str, object] = {
        "id": f"ent_{i}",
        "clinician_id": "stf_1",
        "link_id": f"lnk_{i}",
        "participant": ParticipantKind.CLIENT,
        "label": f"Person {i}",
        "channel": Channel.EMAIL,
        "arrived_at": T0 + timedelta(minutes=i),
        "state_since": T0,
        "device_id": f"d{i}",
        "state": state,
        **kw,
    }
    return EntryView(**fields)  # type: ignore[arg-type]


def rooms(*entries: EntryView) -> Rooms:
    return Rooms(items=[RoomView(clinician_id="stf_1", entries=list(entries))])


def test_clean_drops_control_characters_and_keeps_markup() -> None:
    assert clean("Eve\x1b[31m\x07 [b]x[/b]") == "Eve[31m [b]x[/b]"
    assert clean(None) == ""


def event(kind: str, view: EntryView | None = None, **data: object) -> StaffEvent:
    """A room event as the server sends it: ids, and the entry's view if it is shown."""
    if view is not None:
        data = {"entry_id": view.id, "entry": msgspec.to_builtins(view), **data}
    return StaffEvent(type=kind, at=T0, data=data)


def test_arrival_takes_its_row_from_the_event_and_is_highlighted_until_admitted() -> None:
    state = DashboardState()
    joined = state.apply(event("room.joined", entry(1)))
    assert not joined.refresh_rooms
    assert joined.arrival == "ent_1"
    assert state.entries["ent_1"].label == "Person 1"
    assert state.highlighted == {"ent_1": T0}  # marked NEW since the event's time
    assert state.notifications[-1].text == "arrived"
    admitted = state.apply(event("room.admitted", entry(1, EntryState.ADMITTED)))
    assert (admitted.arrival, admitted.refresh_rooms) == (None, False)
    assert state.entries["ent_1"].state is EntryState.ADMITTED
    assert state.highlighted == {}


def test_a_row_goes_when_its_entry_ends_or_moves_out_of_sight() -> None:
    state = DashboardState()
    state.load_rooms(rooms(entry(1), entry(2)))
    left = state.apply(event("room.left", entry(1, EntryState.LEFT)))
    assert (left.dropped, left.refresh_rooms) == (True, False)
    # Transferred to a room this dashboard does not show: the event comes without a view.
    moved = state.apply(event("room.transferred", entry_id="ent_2", clinician_id="stf_2"))
    assert (moved.dropped, moved.refresh_rooms) == (True, False)
    assert state.entries == {}
    assert [n.text for n in state.notifications] == ["left", "transferred"]


def test_a_view_that_cannot_be_read_fetches_the_rooms() -> None:
    state = DashboardState()
    applied = state.apply(event("room.joined", entry_id="ent_1", entry={"id": 3}))
    assert applied.refresh_rooms
    assert applied.arrival == "ent_1"


def test_other_events_change_nothing() -> None:
    state = DashboardState()
    before = state.version
    assert not state.apply(StaffEvent(type="appointment.updated", data={})).refresh_rooms
    assert state.version == before
    assert state.notifications == []


def test_every_change_is_announced_and_nothing_else() -> None:
    """The screens follow the state through ``on_change`` alone: a change that is not
    announced would never reach them."""
    announced: list[int] = []
    state = DashboardState()
    state.on_change = lambda: announced.append(state.version)
    state.apply(event("room.joined", entry(1)))
    state.set_connection(Connection.LIVE)
    state.set_connection(Connection.LIVE)  # no change: not announced
    state.set_zone("America/New_York")
    state.apply(StaffEvent(type="appointment.updated", data={}))  # not about the model
    state.mark_read()
    state.mark_read()
    assert announced == [1, 2, 3, 4]


def test_rooms_snapshot_sorts_sections_and_forgets_stale_highlights() -> None:
    state = DashboardState()
    state.highlighted = {"ent_1": T0, "ent_9": T0}
    returned = entry(3, returned_at=T0)
    state.load_rooms(rooms(entry(1), entry(2, EntryState.IN_SESSION), returned))
    assert [e.id for e in state.waiting()] == ["ent_3", "ent_1"]
    assert [e.id for e in state.in_session()] == ["ent_2"]
    assert state.highlighted == {"ent_1": T0}


def test_label_strips_control_characters() -> None:
    assert DashboardState().label(entry(1, label="Ana\x1b]0;pwn\x07")) == "Ana]0;pwn"


def test_notifications_are_bounded() -> None:
    state = DashboardState()
    for i in range(MAX_NOTIFICATIONS + 5):
        state.apply(StaffEvent(type="room.left", data={"entry_id": f"ent_{i}"}))
    assert len(state.notifications) == MAX_NOTIFICATIONS
    assert state.notifications[0].entry_id == "ent_5"


def test_idle_clock_expires_after_the_limit() -> None:
    now = [100.0]
    clock = IdleClock(60.0, clock=lambda: now[0])
    now[0] = 159.0
    assert not clock.expired()
    now[0] = 160.0
    assert clock.expired()
    clock.touch()
    assert not clock.expired()


async def test_alert_rings_toasts_and_runs_the_hook_without_a_shell(tmp_path: Path) -> None:
    out = tmp_path / "hook.json"
    toasts: list[str] = []
    rings: list[int] = []
    script = f"import sys; open({str(out)!r}, 'wb').write(sys.stdin.buffer.read())"
    alerts = Alerts(lambda: rings.append(1), toasts.append, [sys.executable, "-c", script])
    event = StaffEvent(type="room.joined", at=T0, data={"entry_id": "ent_1"})
    alerts.arrival("Ana; rm -rf /", event)
    await alerts.run_hook(event)
    assert rings == [1]
    assert toasts == ["Ana; rm -rf / is waiting"]
    assert b'"entry_id":"ent_1"' in out.read_bytes()
    assert b"Ana" not in out.read_bytes()
    await alerts.close()


async def test_a_failing_hook_is_counted_not_raised() -> None:
    alerts = Alerts(lambda: None, lambda _: None, ["/nonexistent/hook"], sound=False)
    alerts.arrival("Ana", StaffEvent(type="room.joined"))
    assert alerts.rung == 0  # sound off: no bell
    await alerts.run_hook(StaffEvent(type="room.joined"))
    assert alerts.hook_failures >= 1
    await alerts.close()


def test_an_appointment_running_past_midnight_is_listed_once_today() -> None:
    from tlh.domain.models import Appointment

    late = Appointment(
        id="apt_late",
        clinician_ids=("stf_1",),
        start=T0,
        duration_min=50,
        created_at=T0,
        updated_at=T0,
    )
    state = DashboardState()
    # The server's range for "the next days" overlaps it too.
    state.load_schedule([late], {}, upcoming=[late])
    assert list(state.appointments) == ["apt_late"]
    assert state.upcoming == {}


def test_a_session_just_past_midnight_is_next_and_its_early_arrival_is_early() -> None:
    """At 23:30 the session at 00:20 (tomorrow's, among the next days') is the next
    one, and someone waiting for it is early; tomorrow's 09:00 is not next yet."""
    from tlh.domain.models import Appointment, Status

    def appt(aid: str, start: datetime, **kw: object) -> Appointment:
        return Appointment(
            id=aid, clinician_ids=("stf_1",), start=start, duration_min=50,
            created_at=T0, updated_at=T0, **kw,  # type: ignore[arg-type]
        )  # fmt: skip

    now = datetime(2026, 3, 3, 4, 30, tzinfo=UTC)  # 23:30 in New York
    done = appt("apt_done", now - timedelta(hours=3))
    night = appt("apt_night", now + timedelta(minutes=50))
    called_off = appt("apt_off", now + timedelta(minutes=70), status=Status.CANCELLED)
    morning = appt("apt_morning", now + timedelta(hours=9, minutes=30))
    state = DashboardState()
    state.load_schedule([done], {}, upcoming=[night, called_off, morning])
    assert [a.id for a in state.next_sessions(now, 8)] == ["apt_night"]
    assert state.next_appointment(now) == night
    assert state.time_format(night) == "%a %H:%M"  # shown with its day
    assert state.time_format(done) == "%H:%M"
    waiting = entry(1, appointment_id="apt_night")
    assert state.upcoming_for(waiting, now) == night
    assert state.upcoming_for(waiting, night.start) is None  # due: no longer early


def test_new_marks_end_after_a_while_and_new_counts_people() -> None:
    from tlh.tui.state import NEW_FOR

    state = DashboardState()
    state.apply(event("room.joined", entry(1)))
    state.apply(event("room.joined", entry(2, client_id="cli_2")))
    state.apply(StaffEvent(type="consent.accepted", at=T0, data={"client_id": "cli_2"}))
    state.apply(StaffEvent(type="link.redeemed", at=T0, data={"client_id": "cli_2"}))
    # Four notifications, about two people.
    assert (len(state.notifications), state.unread_note()) == (4, " · 2 new")
    state.expire_new(T0 + NEW_FOR - timedelta(seconds=1))
    assert set(state.highlighted) == {"ent_1", "ent_2"}
    state.expire_new(T0 + NEW_FOR)
    assert state.highlighted == {}


def test_what_clients_do_in_the_portal_becomes_a_notification_naming_them() -> None:
    # Issue 13: a booking from the portal and a request to move one reach the clinician
    # as notifications about that client (ids only in the event; the name is the
    # dashboard's own), and a decided request says how it was decided.
    state = DashboardState()
    said = [
        ("appointment.self_booked", {"id": "apt_1", "client_id": "cli_1", "status": "scheduled"}),
        (
            "reschedule.requested",
            {"id": "rsq_1", "appointment_id": "apt_2", "client_id": "cli_2", "state": "pending"},
        ),
        (
            "reschedule.decided",
            {"id": "rsq_1", "appointment_id": "apt_2", "client_id": "cli_2", "state": "declined"},
        ),
    ]
    for kind, data in said:
        state.apply(StaffEvent(type=kind, at=T0, data=data))
    notes = {n.kind: n for n in state.notifications}
    assert set(notes) == {kind for kind, _ in said}
    booked = notes["appointment.self_booked"]
    assert (booked.client_id, booked.appointment_id) == ("cli_1", "apt_1")
    assert "booked" in booked.text
    asked = notes["reschedule.requested"]
    assert (asked.client_id, asked.appointment_id) == ("cli_2", "apt_2")
    assert "move" in asked.text
    assert notes["reschedule.decided"].text == "their request to move was declined"
