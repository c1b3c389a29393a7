"""Waiting-room rules: arrivals, admission, the line, expiry, auto-admit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from msgspec.structs import replace

from tlh.domain import rooms as r
from tlh.domain.links import Channel, ParticipantKind
from tlh.domain.models import Policy, Role, Staff
from tlh.domain.rooms import EntryState, RoomEntry
from tlh.errors import Conflict, InvalidInput, InvalidTransition

T0 = datetime(2030, 3, 4, 9, 0, tzinfo=UTC)
GRACE = 60.0


def entry(n: int = 1, **changes: object) -> RoomEntry:
    base = RoomEntry(
        id=f"ent_{n}",
        clinician_id="stf_c",
        link_id="lnk_1",
        participant=ParticipantKind.CLIENT,
        channel=Channel.EMAIL,
        arrived_at=T0 + timedelta(minutes=n),
        state_since=T0 + timedelta(minutes=n),
        device_id="dev_a",
    )
    return replace(base, **changes)


def test_first_hello_is_new() -> None:
    assert r.arrival([], "dev_a", T0, GRACE).kind is r.ArrivalKind.NEW


def test_same_device_within_grace_reconnects() -> None:
    gone = r.disconnect(entry(), T0)
    found = r.arrival([gone], "dev_a", T0 + timedelta(seconds=59), GRACE)
    assert found.kind is r.ArrivalKind.RECONNECT
    assert found.entry == gone
    back = r.reconnect(gone, T0)
    assert back.online
    assert back.disconnected_at is None
    assert back.reconnects == 1


def test_same_device_after_grace_is_new() -> None:
    gone = r.disconnect(entry(), T0)
    later = T0 + timedelta(seconds=60)
    assert r.arrival([gone], "dev_a", later, GRACE).kind is r.ArrivalKind.NEW
    assert r.is_expired(gone, later, GRACE)
    assert not r.is_expired(gone, later - timedelta(seconds=1), GRACE)


def test_other_device_while_live_is_second_device_unless_reusable() -> None:
    live = entry()
    assert r.arrival([live], "dev_b", T0, GRACE).kind is r.ArrivalKind.SECOND_DEVICE
    assert r.arrival([live], "dev_b", T0, GRACE, reusable=True).kind is r.ArrivalKind.NEW
    left = r.leave(live, T0)
    assert r.arrival([left], "dev_b", T0, GRACE).kind is r.ArrivalKind.NEW


def test_admit_once_then_already_admitted_names_the_first() -> None:
    admitted = r.admit(entry(), "stf_c", T0)
    assert admitted.state is EntryState.ADMITTED
    assert admitted.admitted_by == "stf_c"
    with pytest.raises(r.AlreadyAdmitted) as err:
        r.admit(admitted, "stf_admin", T0)
    assert err.value.by == "stf_c"
    assert err.value.code == "already_admitted"


def test_second_device_needs_approval() -> None:
    second = entry(second_device=True)
    with pytest.raises(r.SecondDevice):
        r.admit(second, "stf_c", T0)
    approved = r.admit(second, "stf_c", T0, approve_second_device=True)
    assert approved.state is EntryState.ADMITTED
    assert not approved.second_device


@pytest.mark.parametrize("final", [EntryState.LEFT, EntryState.DENIED, EntryState.EXPIRED])
def test_final_states_refuse_everything(final: EntryState) -> None:
    done = entry(state=final)
    for act in (
        lambda: r.admit(done, "stf_c", T0),
        lambda: r.deny(done, T0),
        lambda: r.leave(done, T0),
        lambda: r.expire(done, T0),
        lambda: r.send_back(done, T0),
        lambda: r.transfer(done, "stf_d", T0),
    ):
        with pytest.raises(InvalidTransition):
            act()


def test_send_back_puts_the_entry_first_in_line() -> None:
    a, b = entry(1), entry(2)
    c = r.send_back(r.admit(entry(3), "stf_c", T0), T0 + timedelta(minutes=9))
    assert [e.id for e in r.in_line([a, b, c])] == ["ent_3", "ent_1", "ent_2"]
    assert r.position([a, b, c], "ent_3") == 1
    assert r.position([a, b, c], "ent_2") == 3


def test_transfer_keeps_arrival_and_only_while_live() -> None:
    moved = r.transfer(entry(), "stf_d", T0 + timedelta(hours=1))
    assert moved.clinician_id == "stf_d"
    assert moved.arrived_at == entry().arrived_at
    with pytest.raises(InvalidTransition):
        r.transfer(moved, "stf_d", T0)
    with pytest.raises(InvalidTransition):
        r.transfer(r.leave(entry(), T0), "stf_d", T0)


def test_transfer_from_the_call_waits_first_in_the_new_room() -> None:
    """Issue 18, item 3: someone already admitted can be transferred too."""
    later = T0 + timedelta(minutes=20)
    moved = r.transfer(r.admit(entry(3), "stf_c", T0), "stf_d", later)
    assert (moved.state, moved.clinician_id, moved.admitted_by) == (
        EntryState.WAITING,
        "stf_d",
        None,
    )
    there = [entry(1, clinician_id="stf_d"), entry(2, clinician_id="stf_d")]
    assert [e.id for e in r.in_line([*there, moved])] == ["ent_3", "ent_1", "ent_2"]


def test_media_connected_moves_admitted_only() -> None:
    assert r.media_connected(r.admit(entry(), "s", T0), T0).state is EntryState.IN_SESSION
    assert r.media_connected(entry(), T0).state is EntryState.WAITING


def test_admitted_at_is_kept_in_the_call_and_cleared_when_sent_back() -> None:
    later = T0 + timedelta(seconds=40)
    connected = r.media_connected(r.admit(entry(), "s", T0), later)
    assert (connected.admitted_at, connected.state_since) == (T0, later)
    back = r.send_back(connected, later)
    assert back.admitted_at is None
    assert r.admit(back, "s", later).admitted_at == later


def test_expected_wait() -> None:
    assert r.expected_wait_min(1, None, clinician_busy=True) is None
    assert r.expected_wait_min(None, 50, clinician_busy=True) is None
    assert r.expected_wait_min(1, 50, clinician_busy=False) == 0
    assert r.expected_wait_min(1, 50, clinician_busy=True) == 25
    assert r.expected_wait_min(3, 50, clinician_busy=True) == 125


def test_grace_left_counts_down_from_the_disconnect() -> None:
    assert r.grace_left(entry(), T0, GRACE) == GRACE
    gone = r.disconnect(entry(), T0)
    assert r.grace_left(gone, T0 + timedelta(seconds=45), GRACE) == 15
    assert r.grace_left(gone, T0 + timedelta(seconds=75), GRACE) == -15


def test_second_devices_are_skipped_in_the_line_staff_admit_from() -> None:
    first, second, third = entry(1), entry(2, second_device=True), entry(3)
    assert r.admissible([third, second, first]) == [first, third]
    back = r.send_back(r.admit(third, "s", T0), T0)
    assert r.admissible([first, second, back]) == [back, first]


def test_staff_choose_online_late_or_busy() -> None:
    assert r.chosen_presence("late") is r.Presence.LATE
    for wrong in ("offline", "away", None, ["busy"]):
        with pytest.raises(InvalidInput):
            r.chosen_presence(wrong)


def test_device_check_takes_known_results_and_skips_what_is_left_out() -> None:
    check = r.device_check({"camera": "ok", "microphone": "denied"}, T0)
    assert (check.camera, check.microphone, check.speaker, check.at) == (
        "ok",
        "denied",
        "skipped",
        T0,
    )
    for wrong in ("broken", ["ok"], 1):
        with pytest.raises(InvalidInput):
            r.device_check({"camera": wrong}, T0)


def test_waiting_room_setting_and_auto_admit() -> None:
    policy = Policy(practice_name="P", timezone="UTC")
    staff = Staff(
        id="stf_c",
        name="C",
        email="c@example.org",
        role=Role.CLINICIAN,
        created_at=T0,
        updated_at=T0,
    )
    assert r.waiting_room_on(staff, policy) is policy.waiting_room_default
    off = replace(staff, waiting_room=False)
    assert not r.waiting_room_on(off, policy)
    assert r.auto_admits(entry(), waiting_room=False, session_open=True)
    assert not r.auto_admits(entry(), waiting_room=True, session_open=True)
    assert not r.auto_admits(entry(), waiting_room=False, session_open=False)
    assert not r.auto_admits(entry(second_device=True), waiting_room=False, session_open=True)


ACTIONS = st.lists(
    st.sampled_from(["admit", "deny", "back", "leave", "expire", "media", "transfer"]),
    max_size=12,
)


def step(name: str, e: RoomEntry, now: datetime) -> RoomEntry:
    if name == "admit":
        return r.admit(e, "stf_c", now)
    if name == "transfer":
        return r.transfer(e, "stf_x" if e.clinician_id != "stf_x" else "stf_c", now)
    act = {
        "deny": r.deny,
        "back": r.send_back,
        "leave": r.leave,
        "expire": r.expire,
        "media": r.media_connected,
    }[name]
    return act(e, now)


@settings(max_examples=300)
@given(actions=ACTIONS)
def test_state_machine_never_leaves_a_final_state(actions: list[str]) -> None:
    current = entry()
    now = T0
    for name in actions:
        now += timedelta(seconds=1)
        before = current
        try:
            current = step(name, current, now)
        except Conflict:
            assert current is before
            continue
        assert before.state in r.LIVE_STATES or current == before
        # Admitted means someone admitted it; waiting means no one holds it.
        if current.state in (EntryState.ADMITTED, EntryState.IN_SESSION):
            assert current.admitted_by is not None
        if current.state is EntryState.WAITING:
            assert current.admitted_by is None
        assert current.arrived_at == before.arrived_at


def test_another_device_takes_over_an_offline_entry_and_waits_behind_an_online_one() -> None:
    phone = entry(1, device_id="phone")
    assert r.arrival([phone], "laptop", T0, GRACE).kind is r.ArrivalKind.SECOND_DEVICE
    gone = r.disconnect(phone, T0)
    took = r.arrival([gone], "laptop", T0, GRACE)
    assert (took.kind, took.entry) == (r.ArrivalKind.TAKEOVER, gone)
    laptop = entry(2, device_id="laptop", second_device=True)
    heir = r.successor(gone, [gone, laptop])
    assert heir is not None
    assert (heir.id, heir.second_device, heir.arrived_at) == ("ent_2", False, gone.arrived_at)
    assert r.successor(gone, [gone]) is None
