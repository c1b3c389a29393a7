"""The ``Repository.locked`` keys that make a check and its commit one step.

Two requests that each check "this slot is free" and then commit would both pass the
check; holding the key of what the check read (a clinician's schedule, an external id)
from the check to the commit makes the second one see the first one's appointment.
Every path that creates or moves appointments (the API, a series, an import, a quick
session) holds the schedule key of each clinician it books.
"""

from __future__ import annotations

from collections.abc import Iterable

from tlh.domain.models import Appointment, Staff
from tlh.services.csvfile import TableRow
from tlh.store.base import Repository, record_key

#: Held by every import, so two imports (which may create the same new clients) queue.
IMPORTS = "appointments:import"


def schedule(clinician_ids: Iterable[str]) -> list[str]:
    """The keys of the clinicians' schedules (conflict checks read them)."""
    return [f"schedule:{c}" for c in clinician_ids]


def appointment_external_id(external_id: str) -> str:
    """The key that keeps an appointment external id unique."""
    return f"appointment-external-id:{external_id}"


def client_external_id(external_id: str) -> str:
    """The key that keeps a client external id unique."""
    return f"client-external-id:{external_id}"


async def for_import(rows: Iterable[TableRow], store: Repository) -> list[str]:
    """Every key an import of ``rows`` reads: the schedules of the clinicians it names,
    the external ids of its appointments and clients, the records of the appointments it
    may update (a status changed meanwhile must not be undone), and ``IMPORTS``."""
    by_email = {s.email.lower(): s.id for s in await store.all(Staff)}
    keys = {IMPORTS}
    table = list(rows)
    # The stored appointments of every external id at once: one query, not one per row.
    externals = list(dict.fromkeys(e for row in table if (e := row.cells.get("external_id"))))
    by_external = await store.find_many(
        Appointment, "external_id", [*externals, *(f"{e}#1" for e in externals)]
    )
    own = await store.get_many(Appointment, [e for e in externals if e.startswith("apt_")])
    clinicians: set[str] = set()
    series: set[str] = set()
    for row in table:
        cells = row.cells
        clinician = by_email.get(cells.get("clinician_email", "").strip().lower())
        if clinician is not None:
            clinicians.add(clinician)
        if external_id := cells.get("external_id"):
            keys.add(appointment_external_id(external_id))
            for found in _matches(external_id, by_external, own):
                keys.add(record_key(Appointment, found.id))
                if found.series_id:
                    series.add(found.series_id)
        if client_id := cells.get("client_external_id"):
            keys.add(client_external_id(client_id))
    keys.update(schedule(clinicians))
    # A row matching an occurrence of a series can update every one of them.
    for series_id in series:
        keys.update(
            record_key(Appointment, a.id)
            for a in await store.find(Appointment, "series_id", series_id)
        )
    return sorted(keys)


def _matches(
    external_id: str,
    by_external: dict[object, list[Appointment]],
    own: dict[str, Appointment],
) -> list[Appointment]:
    """The stored appointments an import row with ``external_id`` names: the one with
    that external id (or, from an export, that id), or the first of its series."""
    found = [*by_external[external_id], *by_external[f"{external_id}#1"]]
    if external_id in own:
        found.append(own[external_id])
    return found
