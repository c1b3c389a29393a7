"""Bulk appointment import: every row checked first, then one atomic commit.

Rows are matched to existing appointments by ``external_id`` (or, for a file that
came from ``export``, by the appointment id it carries), so importing the same file
twice changes nothing. A row with ``repeat`` (an RRULE) becomes one appointment per
occurrence with external ids ``<external_id>#1``, ``#2``, ...

Rules a person editing the file relies on:

- Empty ``kind``/``modality``/``status`` cells keep an existing appointment's value
  and take the defaults (appointment, in_person, scheduled) for a new one; a row
  without ``repeat`` never changes an appointment's series.
- Clients are found by ``client_external_id``, then ``client_email``, then (when the
  row updates an appointment) by name among that appointment's clients; otherwise a
  client is created from ``client_name`` (once, however many rows name it). Existing
  clients are never modified by an import.
- Conflicts are checked against the store and the file; of two rows that collide,
  the later one is rejected. Unchanged rows are not re-checked.
- ``created``/``updated``/``unchanged`` count appointments; ``rejected`` counts rows.

This module is the use case (who may import, all-or-nothing, partial, dry run, the
commit); a row's cells are checked in ``import_rows``, its client found in
``import_clients``, the rows planned in ``import_plan`` and their conflicts checked
in ``import_conflicts``.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

from tlh.api.appointments import Action, ImportReport
from tlh.domain.models import Role
from tlh.errors import Forbidden, InvalidInput
from tlh.services import audiences, schedule_locks
from tlh.services.context import Actor, Context, new_id
from tlh.services.csvfile import Format, TableRow, read_table, summarise
from tlh.services.import_clients import CLIENTLESS_KINDS
from tlh.services.import_plan import MAX_ROWS, ImportPlan, plan_import
from tlh.services.import_rows import (
    MAX_DURATION_MIN,
    MAX_EXTERNAL_ID_CHARS,
    MAX_NOTES_CHARS,
)
from tlh.store.base import note

__all__ = [
    "CLIENTLESS_KINDS",
    "IMPORT_ROLES",
    "MAX_DURATION_MIN",
    "MAX_EXTERNAL_ID_CHARS",
    "MAX_NOTES_CHARS",
    "MAX_ROWS",
    "Action",
    "ImportPlan",
    "ImportReport",
    "import_appointments",
    "plan_import",
]


IMPORT_ROLES = frozenset({Role.ADMIN, Role.SCHEDULER})


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Hold off the cycle collector for one import (the store's load does the same).

    Every row's objects stay alive until the commit, so the collector could only
    promote them, and the full collections their numbers trigger walk the whole
    in-memory store: 100-200 ms each at 100,000 appointments, two or three per import.
    Paused, only what outlives the import is counted (one full collection every few
    imports). Reference counting still frees everything meanwhile. Overlapping imports
    are fine: the collector is on again once the first of them ends.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


async def import_appointments(
    ctx: Context,
    actor: Actor,
    data: bytes,
    fmt: Format,
    *,
    dry_run: bool = False,
    partial: bool = False,
) -> ImportReport:
    """Import a CSV/JSON file of appointments in one atomic write.

    All or nothing unless ``partial``: any bad row raises ``InvalidInput`` with every
    row error in ``details``. ``dry_run`` answers exactly as a real run would
    (including that error) but writes nothing.
    """
    if actor.kind != "system" and (actor.kind != "staff" or actor.role not in IMPORT_ROLES):
        raise Forbidden("only admins and schedulers can import appointments")
    with _gc_paused():
        return await _import(ctx, actor, data, fmt, dry_run=dry_run, partial=partial)


async def _import(
    ctx: Context, actor: Actor, data: bytes, fmt: Format, *, dry_run: bool, partial: bool
) -> ImportReport:
    rows = read_table(data, fmt)
    # Planned and committed holding what the plan reads: an appointment booked (or an
    # import run) meanwhile cannot slip between the conflict check and the write.
    async with ctx.store.locked(*schedule_locks.for_import(rows, ctx.store)):
        return await _plan_and_commit(ctx, actor, rows, dry_run=dry_run, partial=partial)


async def _plan_and_commit(
    ctx: Context, actor: Actor, rows: list[TableRow], *, dry_run: bool, partial: bool
) -> ImportReport:
    plan = plan_import(rows, ctx.store, ctx.policy(), ctx.clock(), new_id)
    if plan.rejected and not partial:
        raise InvalidInput(summarise(plan.errors), plan.errors)
    report = ImportReport(
        dry_run=dry_run,
        created=plan.created,
        updated=plan.updated,
        unchanged=plan.unchanged,
        rejected=plan.rejected,
        rows=tuple(plan.rows),
    )
    if dry_run or not plan.ops:
        return report
    audience = audiences.imported(ctx, plan.ops)  # as stored before, too
    notes = [note(actor, "appointment.import", *plan.appointment_ids)]
    if plan.client_ids:
        notes.append(note(actor, "client.create", *plan.client_ids))
    await ctx.store.commit(plan.ops, audit=notes)
    ctx.events.publish(
        "appointments.imported", {"created": plan.created, "updated": plan.updated}, audience
    )
    return report
