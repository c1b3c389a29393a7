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
- What it sends is what booking and changing each appointment would send (invitations,
  new links of moved visits, notices; ``import_notices``), in the same commit as the
  rows; ``notify=False`` sends nothing. A row outside its clinician's availability is
  warned of (rejected with ``strict_availability``).

This module is the use case (who may import, all-or-nothing, partial, dry run, the
commit, the report); a row's cells are checked in ``import_rows``, its client found in
``import_clients``, the rows planned in ``import_plan``, their conflicts checked in
``import_conflicts`` and what they send planned in ``import_notices``.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import msgspec

from tlh.api.appointments import Action, BookingWarning, ImportedClient, ImportReport
from tlh.domain.models import Blocker, Role
from tlh.errors import Forbidden, InvalidInput
from tlh.services import audiences, schedule_locks
from tlh.services.context import Actor, Context, new_id
from tlh.services.csvfile import Format, TableRow, read_table, summarise
from tlh.services.followups import announce, commit_with
from tlh.services.import_clients import CLIENTLESS_KINDS
from tlh.services.import_notices import ImportNotices, plan_notices
from tlh.services.import_plan import MAX_ROWS, ImportPlan, plan_import
from tlh.services.import_rows import (
    MAX_DURATION_MIN,
    MAX_EXTERNAL_ID_CHARS,
    MAX_NOTES_CHARS,
)
from tlh.services.reminder_clock import held_back
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


@dataclass(frozen=True)
class ImportOptions:
    """How an import runs: ``dry_run`` writes and sends nothing; ``partial`` keeps the
    good rows of a file with bad ones; ``notify`` sends what booking and changing each
    appointment would (off: nothing, reminders already due held back);
    ``strict_availability`` rejects rows outside their clinician's availability."""

    dry_run: bool = False
    partial: bool = False
    notify: bool = True
    strict_availability: bool = False


async def import_appointments(
    ctx: Context,
    actor: Actor,
    data: bytes,
    fmt: Format,
    *,
    dry_run: bool = False,
    partial: bool = False,
    notify: bool = True,
    strict_availability: bool = False,
) -> ImportReport:
    """Import a CSV/JSON file of appointments in one atomic write.

    All or nothing unless ``partial``: any bad row raises ``InvalidInput`` with every
    row error in ``details``. ``dry_run`` answers exactly as a real run would
    (including that error, the clients it would create and the messages it would send)
    but writes nothing.
    """
    if actor.kind != "system" and (actor.kind != "staff" or actor.role not in IMPORT_ROLES):
        raise Forbidden("only admins and schedulers can import appointments")
    options = ImportOptions(dry_run, partial, notify, strict_availability)
    with _gc_paused():
        return await _import(ctx, actor, data, fmt, options)


async def _import(
    ctx: Context, actor: Actor, data: bytes, fmt: Format, options: ImportOptions
) -> ImportReport:
    rows = read_table(data, fmt)
    # Planned and committed holding what the plan reads: an appointment booked (or an
    # import run) meanwhile cannot slip between the conflict check and the write.
    async with ctx.store.locked(*await schedule_locks.for_import(rows, ctx.store)):
        return await _plan_and_commit(ctx, actor, rows, options)


async def _plan_and_commit(
    ctx: Context, actor: Actor, rows: list[TableRow], options: ImportOptions
) -> ImportReport:
    plan = await plan_import(
        rows,
        ctx.store,
        ctx.policy(),
        ctx.clock(),
        new_id,
        strict_availability=options.strict_availability,
    )
    if plan.rejected and not options.partial:
        raise InvalidInput(summarise(plan.errors), plan.errors)
    sends = await plan_notices(ctx, plan, notify=options.notify)
    if options.dry_run or not plan.ops:
        return await _report(ctx, plan, sends, options)
    audience = await audiences.imported(ctx, plan.ops)  # as stored before, too
    notes = [note(actor, "appointment.import", *plan.appointment_ids)]
    if plan.client_ids:
        notes.append(note(actor, "client.create", *plan.client_ids))
    skipped = [] if options.notify else held_back(sends.reminders, ctx.clock())
    # One commit with what they send: no reminder tick comes between a visit and its
    # invitation, and nothing is sent for a write that failed.
    done = await commit_with(ctx, actor, plan.ops, notes, sends.followup, skipped)
    ctx.events.publish(
        "appointments.imported", {"created": plan.created, "updated": plan.updated}, audience
    )
    announce(ctx, done)
    return await _report(ctx, plan, sends, options)


async def _report(
    ctx: Context, plan: ImportPlan, sends: ImportNotices, options: ImportOptions
) -> ImportReport:
    """The answer; a dry run names no record it would create (``None`` ids)."""
    made = {a.id for _, a in plan.made} | {c.id for _, c in plan.new_clients}

    def known(record_id: str | None) -> str | None:
        return None if options.dry_run and record_id in made else record_id

    rows = plan.rows
    if options.dry_run:
        rows = [msgspec.structs.replace(r, id=known(r.id)) for r in rows]
    outgoing = await sends.outgoing(ctx) if options.notify else []
    warnings: list[tuple[int | None, str, Blocker]] = list(plan.warnings)
    warnings += [(sends.rows.get(i), i, w) for i, w in sends.followup.warnings]
    return ImportReport(
        dry_run=options.dry_run,
        created=plan.created,
        updated=plan.updated,
        unchanged=plan.unchanged,
        rejected=plan.rejected,
        rows=tuple(rows),
        clients_created=len(plan.new_clients),
        clients=tuple(
            ImportedClient(row=row, name=c.name, id=known(c.id)) for row, c in plan.new_clients
        ),
        messages=tuple(
            msgspec.structs.replace(
                m, appointment_id=known(m.appointment_id), client_id=known(m.client_id)
            )
            for m in outgoing
        ),
        warnings=tuple(
            BookingWarning(code=w.code, message=w.message, appointment_id=known(i), row=row)
            for row, i, w in warnings
        ),
        held_back=0 if options.notify else len(sends.reminders),
    )
