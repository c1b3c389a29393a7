"""Link validity spans and redemption: every edge of the window, every dead state."""

from __future__ import annotations

from datetime import datetime, timedelta

import msgspec
import pytest

from tests.unit.samples import APPT, CREATED, START
from tlh.domain.links import (
    Channel,
    JoinLink,
    LinkPurpose,
    ParticipantKind,
    RedeemState,
    check_redeemable,
    consent_link_validity,
    join_link_validity,
    room_link_validity,
    website_link_validity,
)
from tlh.domain.models import Modality, Policy, Status

END = START + timedelta(minutes=50)
POLICY = Policy(practice_name="p", window_opens_before_min=10, link_grace_min=30)

FROM, UNTIL = join_link_validity(START, END, POLICY)
LINK = JoinLink(
    id="lnk_1",
    token_hash="0" * 64,
    purpose=LinkPurpose.JOIN,
    participant=ParticipantKind.CLIENT,
    client_id="cli_1",
    appointment_id="apt_1",
    clinician_id="stf_1",
    channel=Channel.EMAIL,
    created_at=CREATED,
    created_by="system",
    valid_from=FROM,
    valid_until=UNTIL,
)


def test_join_link_validity_spans_window_open_to_end_plus_grace() -> None:
    assert START - timedelta(minutes=10) == FROM
    assert END + timedelta(minutes=30) == UNTIL


def test_join_link_validity_follows_policy() -> None:
    policy = Policy(practice_name="p", window_opens_before_min=300, link_grace_min=0)
    assert join_link_validity(START, END, policy) == (START - timedelta(hours=5), END)


def test_room_and_consent_link_validity() -> None:
    policy = Policy(practice_name="p", room_link_hours=12, consent_link_days=14)
    assert room_link_validity(CREATED, policy) == (CREATED, CREATED + timedelta(hours=12))
    assert consent_link_validity(CREATED, policy) == (CREATED, CREATED + timedelta(days=14))


@pytest.mark.parametrize(
    ("now", "state"),
    [
        (FROM - timedelta(days=3), RedeemState.EARLY),
        (FROM - timedelta(microseconds=1), RedeemState.EARLY),
        (FROM, RedeemState.OK),
        (START, RedeemState.OK),
        (UNTIL - timedelta(microseconds=1), RedeemState.OK),
        (UNTIL, RedeemState.INVALID),
        (UNTIL + timedelta(days=1), RedeemState.INVALID),
    ],
)
def test_redeem_at_the_edges(now: datetime, state: RedeemState) -> None:
    result = check_redeemable(LINK, APPT, now)
    assert result.state is state
    if state is RedeemState.EARLY:
        assert result.opens_at == FROM
    else:
        assert result.opens_at is None


@pytest.mark.parametrize(
    "status",
    [Status.SCHEDULED, Status.CONFIRMED, Status.CHECKED_IN, Status.OCCURRED],
)
def test_live_statuses_admit(status: Status) -> None:
    appt = msgspec.structs.replace(APPT, status=status)
    assert check_redeemable(LINK, appt, START).state is RedeemState.OK


@pytest.mark.parametrize("status", [Status.CANCELLED, Status.LATE_CANCELLED, Status.MISSED])
def test_dead_appointment_is_invalid_even_early(status: Status) -> None:
    appt = msgspec.structs.replace(APPT, status=status)
    assert check_redeemable(LINK, appt, START).state is RedeemState.INVALID
    # Early must not leak that a cancelled appointment exists.
    assert check_redeemable(LINK, appt, FROM - timedelta(hours=1)).state is RedeemState.INVALID


def test_a_visit_turned_in_person_makes_its_video_links_invalid_even_early() -> None:
    # Issue 18, item 4: the call of an in-person visit can never start.
    in_person = msgspec.structs.replace(APPT, modality=Modality.IN_PERSON)
    assert check_redeemable(LINK, in_person, START).state is RedeemState.INVALID
    assert check_redeemable(LINK, in_person, FROM - timedelta(hours=1)).state is RedeemState.INVALID


def test_missing_or_other_appointment_is_invalid() -> None:
    assert check_redeemable(LINK, None, START).state is RedeemState.INVALID
    other = msgspec.structs.replace(APPT, id="apt_2")
    assert check_redeemable(LINK, other, START).state is RedeemState.INVALID


def test_revoked_is_invalid_inside_the_window() -> None:
    revoked = msgspec.structs.replace(LINK, revoked_at=START - timedelta(hours=1))
    assert check_redeemable(revoked, APPT, START).state is RedeemState.INVALID
    assert check_redeemable(revoked, APPT, FROM - timedelta(hours=2)).state is RedeemState.INVALID


def test_room_link_needs_no_appointment() -> None:
    start, until = room_link_validity(CREATED, POLICY)
    room = msgspec.structs.replace(
        LINK,
        participant=ParticipantKind.GUEST,
        client_id=None,
        appointment_id=None,
        channel=Channel.GUEST,
        valid_from=start,
        valid_until=until,
    )
    assert check_redeemable(room, None, CREATED).state is RedeemState.OK
    assert check_redeemable(room, None, until).state is RedeemState.INVALID


def test_consent_link_ignores_appointment_argument() -> None:
    start, until = consent_link_validity(CREATED, POLICY)
    consent = msgspec.structs.replace(
        LINK, purpose=LinkPurpose.CONSENT, appointment_id=None, valid_from=start, valid_until=until
    )
    assert check_redeemable(consent, None, CREATED + timedelta(days=13)).state is RedeemState.OK
    assert check_redeemable(consent, None, until).state is RedeemState.INVALID


def test_a_website_code_lasts_until_revoked_unless_the_practice_gives_it_days() -> None:
    start, until = website_link_validity(CREATED, POLICY)
    assert start == CREATED
    assert until - CREATED > timedelta(days=36_000)
    days = msgspec.structs.replace(POLICY, website_link_days=30)
    assert website_link_validity(CREATED, days) == (CREATED, CREATED + timedelta(days=30))
