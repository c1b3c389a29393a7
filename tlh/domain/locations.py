"""Where the client is at the start of a session (policy ``ask_location``).

Practices need it for emergency services and licensure: before the waiting room the
client (or a caregiver joining for them) confirms an address or city/region and a phone
number to reach them there. It is kept with the room entry, then the session segment,
and the last one each person gave is kept to fill the form next time.

Patient data: it never goes into an error message, a log line or a URL.
"""

from __future__ import annotations

import re
from datetime import datetime

import msgspec

from tlh.domain.links import JoinLink, LinkPurpose, ParticipantKind
from tlh.domain.models import AskLocation, Policy
from tlh.errors import InvalidInput

#: Longest place accepted: a full street address with region fits in far less.
MAX_PLACE = 200
#: Longest phone text accepted before it is parsed (spaces, dashes, an extension).
MAX_PHONE = 40

_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]")


class ClientLocation(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """Where a person said they are, and a phone number (E.164) to reach them there."""

    place: str
    phone: str
    at: datetime


class LastLocation(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """The last location one person (a client or a contact: ``id`` is theirs) gave, and
    the link (one visit) they gave it for: the store's ``locations`` table."""

    id: str
    location: ClientLocation
    link_id: str
    appointment_id: str | None = None


def asks(policy: Policy, link: JoinLink) -> bool:
    """Whether the page must ask this link's holder where they are: the practice asks,
    and the link is a client's or a caregiver's way into a visit (guests are not asked)."""
    return (
        policy.ask_location is AskLocation.TELEHEALTH
        and link.purpose is LinkPurpose.JOIN
        and link.participant in (ParticipantKind.CLIENT, ParticipantKind.CONTACT)
        and person_of(link) is not None
    )


def person_of(link: JoinLink) -> str | None:
    """The id the link's holder is known by: the contact's, else the client's."""
    if link.participant is ParticipantKind.CONTACT:
        return link.contact_id
    if link.participant is ParticipantKind.CLIENT:
        return link.client_id
    return None


def clean_place(text: str) -> str:
    """The place as one line, inner runs of spaces made one; ``InvalidInput`` (never
    echoing the text) when empty, longer than ``MAX_PLACE`` or holding control
    characters."""
    if _CONTROL.search(text):
        raise InvalidInput("the place must be one line of text")
    place = " ".join(text.split())
    if not place:
        raise InvalidInput("please say where you are: an address, or a city and region")
    if len(place) > MAX_PLACE:
        raise InvalidInput(f"the place must be at most {MAX_PLACE} characters")
    return place


def given_for(last: LastLocation | None, link: JoinLink) -> ClientLocation | None:
    """The location given for this link's visit (``None`` when the last one the person
    gave was for another visit, or they never gave one)."""
    if last is None or last.link_id != link.id:
        return None
    return last.location
