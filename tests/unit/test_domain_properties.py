"""Property tests across the domain rules."""

from __future__ import annotations

from collections import deque
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tlh.domain.availability import covers
from tlh.domain.models import AvailabilityBlock, AvailabilityMode, Modality, Status
from tlh.domain.timeutil import LocalTimeIssue, local_time_issue, parse_local
from tlh.domain.transitions import allowed_transitions, check_transition
from tlh.errors import InvalidInput, InvalidTransition

ZONES = st.sampled_from(
    [ZoneInfo(k) for k in ("America/New_York", "Europe/London", "Australia/Lord_Howe", "UTC")]
)
INSTANTS = st.datetimes(
    min_value=datetime(2024, 1, 1), max_value=datetime(2032, 1, 1), timezones=st.just(UTC)
).map(lambda t: t.replace(second=0, microsecond=0))


@settings(max_examples=200)
@given(instant=INSTANTS, tz=ZONES)
def test_local_text_round_trips_unless_ambiguous(instant: datetime, tz: ZoneInfo) -> None:
    naive = instant.astimezone(tz).replace(tzinfo=None)
    text = naive.strftime("%Y-%m-%dT%H:%M")
    if local_time_issue(naive, tz) is LocalTimeIssue.AMBIGUOUS:
        with pytest.raises(InvalidInput, match="ambiguous"):
            parse_local(text, tz)
    else:
        assert parse_local(text, tz) == instant
    offset = instant.astimezone(tz).strftime("%z")
    assert parse_local(text + offset, tz) == instant  # an offset always settles it


@given(instant=INSTANTS, tz=ZONES, minutes=st.integers(0, 3 * 24 * 60))
def test_whole_week_blocks_cover_everything(instant: datetime, tz: ZoneInfo, minutes: int) -> None:
    blocks = [
        AvailabilityBlock(
            id=f"b{day}",
            clinician_id="stf_1",
            weekday=day,
            start_local="00:00",
            end_local="24:00",
            mode=AvailabilityMode.BOTH,
        )
        for day in range(7)
    ]
    end = instant + timedelta(minutes=minutes)
    assert covers(blocks, instant, end, tz, Modality.TELEHEALTH)
    assert not covers(blocks[1:], instant, instant + timedelta(days=7), tz, Modality.IN_PERSON)


def test_every_status_reaches_every_other() -> None:
    # No status is a dead end: mistakes can always be walked back.
    for origin in Status:
        seen = {origin}
        queue = deque([origin])
        while queue:
            for nxt in allowed_transitions(queue.popleft()):
                if nxt not in seen:
                    seen.add(nxt)
                    queue.append(nxt)
        assert seen == set(Status), origin


@given(st.lists(st.sampled_from(list(Status)), max_size=30))
def test_random_walk_obeys_table(steps: list[Status]) -> None:
    current = Status.SCHEDULED
    for target in steps:
        if target in allowed_transitions(current):
            check_transition(current, target)
            current = target
        else:
            with pytest.raises(InvalidTransition):
                check_transition(current, target)
