"""Clients and their contacts (caregivers)."""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import UNSET, UnsetType

from tlh.domain.models import Reminder

#: Reminders a person gets: a list, or the CLI's comma-separated text ("email,sms").
Reminders = list[Reminder] | str


class ClientSearch(msgspec.Struct, frozen=True, kw_only=True):
    """``POST /api/v1/clients/search``: the text travels in the body, never the URL."""

    q: str = ""


#: The most ids one look-up takes (a clinic day names far fewer clients).
LOOKUP_MAX = 1000


class ClientLookup(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``POST /api/v1/clients/lookup``: the clients with these ids (a day's schedule
    names its clients, nothing more is read)."""

    ids: Annotated[list[str], msgspec.Meta(max_length=LOOKUP_MAX)]


class NewClient(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``POST /api/v1/clients``."""

    name: str
    dob: str | None = None  # YYYY-MM-DD (the service checks it is a past date)
    email: str | None = None
    phone: str | None = None
    external_id: str | None = None
    reminders: Reminders | None = None
    #: Clinicians (ids or emails) the client is assigned to: they may read the record
    #: without a recent visit together.
    clinicians: list[str] | None = None
    #: The language of the client's pages and messages ("en", "es").
    language: str | None = None


class ClientChanges(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``PATCH /api/v1/clients/{id}``: the fields given change; ``null`` or ``""`` clears
    one (a name cannot be cleared)."""

    name: str | UnsetType | None = UNSET
    dob: str | UnsetType | None = UNSET
    email: str | UnsetType | None = UNSET
    phone: str | UnsetType | None = UNSET
    external_id: str | UnsetType | None = UNSET
    reminders: Reminders | UnsetType | None = UNSET
    #: The whole list of assigned clinicians (ids or emails); ``[]`` or ``null``: none.
    clinicians: list[str] | UnsetType | None = UNSET
    #: The language of the client's pages and messages; ``null``: the browser's choice.
    language: str | UnsetType | None = UNSET


class NewContact(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``POST /api/v1/clients/{id}/contacts``."""

    name: str
    relationship: str | None = None
    email: str | None = None
    phone: str | None = None
    reminders: Reminders | None = None
    #: May sign in to the client portal and act for this client (issue 13).
    portal: bool = False
