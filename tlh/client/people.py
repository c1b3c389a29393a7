"""The practice's people and settings: ``client.practice``, ``client.staff``,
``client.clients``."""

from __future__ import annotations

import builtins
from datetime import date
from typing import Any

from tlh.api.clients import ClientChanges, ClientLookup, ClientSearch, NewClient, NewContact
from tlh.api.practice import PolicyChanges
from tlh.api.staff import NameChange, NewStaff, NewToken, StaffChanges
from tlh.domain.models import Client, Policy, Staff

from .http import EMPTY, Part, build, seg


def _day(value: date | str | None) -> str | None:
    return value.isoformat() if isinstance(value, date) else value


class PracticeApi(Part):
    """The practice's policy."""

    async def get(self) -> Policy:
        """The practice's policy."""
        return await self._http.get(Policy, "GET", "/api/v1/practice")

    async def update(self, **fields: Any) -> Policy:
        """Change policy fields (admin); each value of its ``Policy`` field's type."""
        changes = build(PolicyChanges, fields)
        return await self._http.get(Policy, "PATCH", "/api/v1/practice", changes)


class StaffApi(Part):
    """Staff members, and the caller's own record."""

    async def me(self) -> Staff:
        """The staff member this token belongs to."""
        return await self._http.get(Staff, "GET", "/api/v1/me")

    async def update_me(self, *, name: str) -> Staff:
        """Change your own display name."""
        return await self._http.get(Staff, "PATCH", "/api/v1/me", NameChange(name=name))

    async def list(self) -> builtins.list[Staff]:
        """Every staff member."""
        return await self._http.items(Staff, "/api/v1/staff")

    async def add(
        self,
        email: str,
        name: str,
        role: str,
        telehealth: bool = False,
        also_clinician: bool = False,
    ) -> NewToken:
        """Add a staff member (``also_clinician``: an admin who sees clients too); the
        answer carries their first token (shown once)."""
        fields = {"email": email, "name": name, "role": role, "telehealth": telehealth}
        new = build(NewStaff, {**fields, "also_clinician": also_clinician})
        return await self._http.get(NewToken, "POST", "/api/v1/staff", new)

    async def get(self, ref: str) -> Staff:
        """One staff member by id or email."""
        return await self._http.get(Staff, "GET", f"/api/v1/staff/{seg(ref)}")

    async def update(self, ref: str, **fields: Any) -> Staff:
        """Change name, role, telehealth, waiting_room or also_clinician (None values
        are not sent)."""
        changes = build(StaffChanges, fields)
        return await self._http.get(Staff, "PATCH", f"/api/v1/staff/{seg(ref)}", changes)

    async def new_token(self, ref: str) -> NewToken:
        """Issue a new token, revoking the old ones."""
        return await self._http.get(NewToken, "POST", f"/api/v1/staff/{seg(ref)}/token", EMPTY)

    async def disable(self, ref: str) -> Staff:
        """Disable a staff member and revoke their tokens."""
        return await self._http.get(Staff, "POST", f"/api/v1/staff/{seg(ref)}/disable", EMPTY)


class ClientsApi(Part):
    """Clients and their contacts (every read of a record is audited by the server)."""

    async def list(self) -> builtins.list[Client]:
        """Every client."""
        return await self._http.items(Client, "/api/v1/clients")

    async def search(self, q: str) -> builtins.list[Client]:
        """Clients matching ``q``; the text travels in the body, never the URL."""
        path = "/api/v1/clients/search"
        return await self._http.items(Client, path, ClientSearch(q=q), method="POST")

    async def lookup(self, ids: builtins.list[str]) -> builtins.list[Client]:
        """The clients with these ids the caller may read (a clinician: their own);
        the others are left out. Only these are read (and audited)."""
        path = "/api/v1/clients/lookup"
        return await self._http.items(Client, path, ClientLookup(ids=ids), method="POST")

    async def add(
        self,
        name: str,
        dob: date | str | None = None,
        email: str | None = None,
        phone: str | None = None,
        external_id: str | None = None,
        clinicians: builtins.list[str] | None = None,
        language: str | None = None,
    ) -> Client:
        """Add a client (``clinicians``: ids or emails of the clinicians they are assigned
        to, who may then see them; ``language``: of their pages and messages, "es")."""
        fields = {"name": name, "dob": _day(dob), "email": email, "phone": phone}
        extra = {"external_id": external_id, "clinicians": clinicians, "language": language}
        new = build(NewClient, {**fields, **extra})
        return await self._http.get(Client, "POST", "/api/v1/clients", new)

    async def get(self, id: str) -> Client:
        """One client (an audited read)."""
        return await self._http.get(Client, "GET", f"/api/v1/clients/{seg(id)}")

    async def update(self, id: str, **fields: Any) -> Client:
        """Change client fields (None values are not sent)."""
        changes = build(ClientChanges, {**fields, "dob": _day(fields.get("dob"))})
        return await self._http.get(Client, "PATCH", f"/api/v1/clients/{seg(id)}", changes)

    async def add_contact(
        self,
        id: str,
        name: str,
        relationship: str | None = None,
        email: str | None = None,
        phone: str | None = None,
        reminders: builtins.list[str] | None = None,
        portal: bool = False,
    ) -> Client:
        """Add a contact (caregiver) to a client (``portal``: may sign in to the portal)."""
        fields = {"name": name, "relationship": relationship, "email": email, "phone": phone}
        new = build(NewContact, {**fields, "reminders": reminders, "portal": portal})
        return await self._http.get(Client, "POST", f"/api/v1/clients/{seg(id)}/contacts", new)
