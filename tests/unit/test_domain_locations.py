"""The location rules (issue 13, item 7): who is asked, what a place may be, which visit a
location was given for."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tlh.domain.links import Channel, JoinLink, LinkPurpose, ParticipantKind
from tlh.domain.locations import (
    MAX_PLACE,
    ClientLocation,
    LastLocation,
    asks,
    clean_place,
    given_for,
    person_of,
)
from tlh.domain.models import AskLocation, Policy
from tlh.domain.reports import session_row
from tlh.domain.sessions import Participation, SessionSegment
from tlh.errors import InvalidInput
from tlh.services.reports import SESSION_FIELDS, render

NOW = datetime(2026, 3, 2, 14, tzinfo=UTC)
ON = Policy(practice_name="P", ask_location=AskLocation.TELEHEALTH)
OFF = Policy(practice_name="P")


def link(
    participant: ParticipantKind = ParticipantKind.CLIENT,
    purpose: LinkPurpose = LinkPurpose.JOIN,
    **ids: str,
) -> JoinLink:
    return JoinLink(
        id=ids.pop("id", "lnk_1"),
        token_hash="h",
        purpose=purpose,
        participant=participant,
        channel=Channel.EMAIL,
        created_at=NOW,
        created_by="stf_1",
        valid_from=NOW,
        valid_until=NOW,
        **ids,
    )


@pytest.mark.parametrize(
    ("policy", "made", "asked"),
    [
        (OFF, link(client_id="cli_1"), False),
        (ON, link(client_id="cli_1"), True),
        (ON, link(ParticipantKind.CONTACT, client_id="cli_1", contact_id="con_1"), True),
        (ON, link(ParticipantKind.GUEST), False),
        (ON, link(purpose=LinkPurpose.CONSENT, client_id="cli_1"), False),
        (ON, link(ParticipantKind.CONTACT, client_id="cli_1"), False),  # no contact id
    ],
)
def test_who_is_asked(policy: Policy, made: JoinLink, asked: bool) -> None:
    assert asks(policy, made) is asked


def test_a_caregiver_is_known_by_their_own_id() -> None:
    made = link(ParticipantKind.CONTACT, client_id="cli_1", contact_id="con_1")
    assert person_of(made) == "con_1"
    assert person_of(link(client_id="cli_1")) == "cli_1"
    assert person_of(link(ParticipantKind.GUEST)) is None


def test_a_place_is_one_tidy_line() -> None:
    assert clean_place("  Portland,   ME ") == "Portland, ME"
    assert clean_place("é" * MAX_PLACE) == "é" * MAX_PLACE


@pytest.mark.parametrize(
    "text", ["", "   ", "a\nb", "a\rb", "a\tb", "a\u2028b", "x" * (MAX_PLACE + 1)]
)
def test_a_place_that_will_not_do_is_refused_without_echoing_it(text: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        clean_place(text)
    if text.strip():
        assert text.strip() not in refused.value.message


def test_a_location_counts_for_the_visit_it_was_given_for() -> None:
    where = ClientLocation(place="Portland, ME", phone="+12075550143", at=NOW)
    last = LastLocation(id="cli_1", location=where, link_id="lnk_1", appointment_id="apt_1")
    assert given_for(last, link(client_id="cli_1")) == where
    assert given_for(last, link(client_id="cli_1", id="lnk_2")) is None
    assert given_for(None, link(client_id="cli_1")) is None


def test_a_session_row_names_each_persons_location_once() -> None:
    here = ClientLocation(place="=1+2 Portland, ME", phone="+12075550143", at=NOW)
    later = ClientLocation(place="Bangor, ME", phone="+12075550188", at=NOW)
    joins = [
        Participation(peer_id="e1", kind="client", client_id="cli_1", joined_at=NOW, location=here),
        Participation(
            peer_id="e1",
            kind="client",
            client_id="cli_1",
            joined_at=NOW + timedelta(minutes=5),
            location=later,
        ),  # a rejoin: the first said stands
        Participation(peer_id="stf_1", kind="staff", staff_id="stf_1", joined_at=NOW),
        Participation(
            peer_id="e2",
            kind="contact",
            client_id="cli_1",
            contact_id="con_1",
            joined_at=NOW,
            location=later,
        ),
    ]
    segment = SessionSegment(
        id="ses_1",
        clinician_id="stf_1",
        started_at=NOW,
        started_by="stf_1",
        participants=tuple(joins),
    )
    row = session_row(segment, None, UTC)
    assert [(w.kind, w.contact_id, w.place) for w in row.locations] == [
        ("client", None, "=1+2 Portland, ME"),
        ("contact", "con_1", "Bangor, ME"),
    ]
    text = render([row], SESSION_FIELDS, "csv").decode()
    # One line per person in the cell; a formula-looking place is defused.
    assert "'=1+2 Portland, ME · +12075550143\nBangor, ME · +12075550188" in text
