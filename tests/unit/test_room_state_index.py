"""The live rooms' indexes by room and by link follow every change of an entry: a
transfer moves it to the other room's line, an ended entry leaves both."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from msgspec.structs import replace

from tlh.domain.links import Channel, ParticipantKind
from tlh.domain.rooms import RoomEntry
from tlh.services.waiting_state import RoomState

T0 = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)


def _entry(n: int, room: str | None, link: str) -> RoomEntry:
    at = T0 + timedelta(seconds=n)
    return RoomEntry(
        id=f"ent_{n}", clinician_id=room, link_id=link, participant=ParticipantKind.GUEST,
        client_id=None, contact_id=None, appointment_id=None, display_name="Guest",
        channel=Channel.COPY, arrived_at=at, state_since=at, device_id=f"dev_{n}",
    )  # fmt: skip


def test_rooms_and_links_follow_moves_and_ends() -> None:
    state = RoomState()
    a, b, c = _entry(1, "stf_a", "lnk_1"), _entry(2, "stf_a", "lnk_2"), _entry(3, None, "lnk_1")
    for entry in (b, a, c):
        state.put(entry)
    assert [e.id for e in state.live("stf_a")] == ["ent_1", "ent_2"]  # by arrival
    assert {e.id for e in state.of_link("lnk_1")} == {"ent_1", "ent_3"}
    state.put(replace(a, clinician_id="stf_b"))  # transferred
    assert [e.id for e in state.live("stf_a")] == ["ent_2"]
    assert [e.id for e in state.live("stf_b")] == ["ent_1"]
    assert [e.clinician_id for e in state.of_link("lnk_1") if e.id == "ent_1"] == ["stf_b"]
    state.forget("ent_1")
    state.forget("ent_3")
    assert state.live("stf_b") == []
    assert state.of_link("lnk_1") == []
    assert state.positions("stf_a") == {"ent_2": 1}
