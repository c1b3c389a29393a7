"""The client of each import row: found among existing clients, or made once per file.

Clients are found by ``client_external_id``, then ``client_email``, then (when the row
updates an appointment) by name among that appointment's clients; otherwise one is
made from ``client_name``, and later rows naming the same person reuse it. Existing
clients are never modified by an import (a ``client_language`` is checked on every row,
and kept only for a client the import makes).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import date, datetime

from tlh.domain.language import parse_language
from tlh.domain.models import Appointment, Client, Kind
from tlh.errors import InvalidInput
from tlh.services import validation
from tlh.services.csvfile import TableRow
from tlh.services.import_rows import RowPlan
from tlh.store.base import Repository

#: A quick shape check for every row; the full check runs when a client is created.
_EMAIL_SHAPE = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")

#: Kinds that never have a client.
CLIENTLESS_KINDS = frozenset({Kind.VACATION, Kind.BLACKOUT})


class ClientMatcher:
    """Resolves rows to client ids, keeping the clients the import will create."""

    def __init__(
        self, store: Repository, now: datetime, today: date, make_id: Callable[[str], str]
    ) -> None:
        self.store = store
        self.now = now
        self.today = today
        self.make_id = make_id
        self.new_clients: dict[str, Client] = {}  # by id
        self.new_by_key: dict[tuple[str, str], Client] = {}
        #: Stored clients by (column, value), read by ``preload``.
        self.stored: dict[tuple[str, str], list[Client]] = {}

    async def resolve(
        self,
        plan: RowPlan,
        cells: dict[str, str],
        kind: Kind | None,
        existing: Appointment | None,
    ) -> str | None:
        """The row's client id (``None`` when it has none, or on an error in ``plan``)."""
        if kind in CLIENTLESS_KINDS:
            given = [c for c in cells if c.startswith("client_")]
            if given:
                plan.bad(given[0], f"a {kind} has no client")
            return None
        language = None
        if "client_language" in cells:
            try:
                language = parse_language(cells["client_language"])
            except InvalidInput as err:
                plan.bad("client_language", err.message)
                return None
        ext = cells.get("client_external_id")
        # Stored emails are normalised (lower-case), so a lower-cased lookup finds them;
        # the full (slow) validation is only needed when a new client is made.
        email = cells["client_email"].lower() if "client_email" in cells else None
        if email is not None and not _EMAIL_SHAPE.fullmatch(email):
            plan.bad("client_email", "invalid email address")
            return None
        if ext:
            found = await self._stored_clients("external_id", ext)
            if len(found) > 1:
                plan.bad("client_external_id", f"{len(found)} clients have this external id")
                return None
            if found:
                return found[0].id
            if ("ext", ext) in self.new_by_key:
                return self.new_by_key["ext", ext].id
        if email:
            found = await self._stored_clients("email", email)
            if len(found) > 1:
                plan.bad(
                    "client_email", f"{len(found)} clients have this email; add client_external_id"
                )
                return None
            if found:
                if ext and found[0].external_id and found[0].external_id != ext:
                    plan.bad(
                        "client_external_id", "differs from that of the client with this email"
                    )
                    return None
                return found[0].id
            if ("email", email) in self.new_by_key:
                return self.new_by_key["email", email].id
        if "client_name" not in cells:
            given = [c for c in cells if c.startswith("client_")]
            if given:
                plan.bad(given[0], "no client matches; add client_name to create one")
            elif kind is not Kind.EVENT:
                plan.bad(
                    "client_name", "no client: give client_external_id, client_email or client_name"
                )
            return None
        if email:
            try:
                email = validation.normalise_email(email)
            except InvalidInput as err:
                plan.bad("client_email", err.message)
                return None
        return await self._new_client(plan, cells, ext, email, existing, language)

    async def _new_client(
        self,
        plan: RowPlan,
        cells: dict[str, str],
        ext: str | None,
        email: str | None,
        existing: Appointment | None,
        language: str | None,
    ) -> str | None:
        try:
            name = validation.clean_name(cells["client_name"])
        except InvalidInput as err:
            plan.bad("client_name", err.message)
            return None
        if existing is not None:
            for cid in existing.client_ids:
                known = await self.store.get(Client, cid)
                if known is not None and known.name == name:
                    return known.id
        key = ("ext", ext) if ext else ("email", email) if email else ("name", name.casefold())
        if key in self.new_by_key:
            return self.new_by_key[key].id
        phone = dob = None
        try:
            if "client_phone" in cells:
                phone = validation.normalise_phone(cells["client_phone"])
        except InvalidInput as err:
            plan.bad("client_phone", err.message)
        try:
            if "client_dob" in cells:
                dob = validation.parse_dob(cells["client_dob"], self.today)
        except InvalidInput as err:
            plan.bad("client_dob", err.message)
        if plan.errors:
            return None
        client = Client(
            id=self.make_id("cli"),
            name=name,
            dob=dob,
            email=email,
            phone=phone,
            external_id=ext,
            language=language,
            created_at=self.now,
            updated_at=self.now,
        )
        self.new_clients[client.id] = client
        self.new_by_key[key] = client
        if email:
            self.new_by_key.setdefault(("email", email), client)
        return client.id

    async def preload(self, rows: Sequence[TableRow]) -> None:
        """Read the stored clients the rows name (by external id and by email) in two
        queries, instead of a query per row."""
        for column, cell in (("external_id", "client_external_id"), ("email", "client_email")):
            values = list(
                dict.fromkeys(
                    v.lower() if column == "email" else v for r in rows if (v := r.cells.get(cell))
                )
            )
            for value, found in (await self.store.find_many(Client, column, values)).items():
                self.stored[column, str(value)] = found

    async def _stored_clients(self, column: str, value: str) -> list[Client]:
        found = self.stored.get((column, value))
        if found is None:
            found = await self.store.find(Client, column, value)
        return found
