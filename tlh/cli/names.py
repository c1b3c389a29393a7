"""Names and the practice's zone for human output (``--json`` keeps the API's ids).

Each is fetched once per command and only when a table needs it: the zone and the
staff list (names of colleagues, one request each), and the clients on screen, one by
one (each an audited read on the server), or in one read of the list when a table shows
more than ``ONE_BY_ONE`` of them (``consent status`` of every client). A client this
user may not read stays shown by id.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from typing import TYPE_CHECKING

from tlh.errors import Forbidden, NotFound

from .timefmt import local

#: Up to this many clients are read one by one; more, in one read of the list.
ONE_BY_ONE = 20

if TYPE_CHECKING:
    from datetime import datetime

    from tlh.client import TlhClient


class Names:
    """Who ids are, for one command's output."""

    def __init__(self, client: TlhClient) -> None:
        self.api = client
        self.zone = "UTC"
        self._staff: dict[str, str] | None = None
        self._clients: dict[str, str] = {}

    async def load(self, client_ids: Iterable[str] = ()) -> Names:
        """The zone, the staff, and the clients in ``client_ids`` not known yet."""
        if self._staff is None:
            self.zone = (await self.api.practice.get()).timezone
            self._staff = {s.id: s.name for s in await self.api.staff.list()}
        wanted = [c for c in dict.fromkeys(client_ids) if c and c not in self._clients]
        if len(wanted) > ONE_BY_ONE:
            # Not allowed the list: one by one below, those this user may read get names.
            with contextlib.suppress(Forbidden):
                self._clients.update((c.id, c.name) for c in await self.api.clients.list())
            wanted = [c for c in wanted if c not in self._clients]
        for client_id in wanted:
            try:
                self._clients[client_id] = (await self.api.clients.get(client_id)).name
            except (NotFound, Forbidden):
                self._clients[client_id] = client_id
        return self

    def staff(self, staff_id: str | None) -> str:
        """A staff member's name (the id when unknown)."""
        if not staff_id:
            return ""
        return (self._staff or {}).get(staff_id, staff_id)

    def client(self, client_id: str | None) -> str:
        """A client's name (the id when not loaded or not readable)."""
        if not client_id:
            return ""
        return self._clients.get(client_id, client_id)

    def clients(self, client_ids: Iterable[str]) -> str:
        """Several clients' names, comma separated."""
        return ", ".join(self.client(c) for c in client_ids)

    def time(self, moment: datetime | None) -> str:
        """``moment`` in the practice's zone, ``YYYY-MM-DD HH:MM``."""
        return local(moment, self.zone)
