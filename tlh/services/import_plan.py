"""Planning an import: every row resolved to the appointments it writes, nothing written.

Rows are matched to existing appointments by ``external_id`` (or, for a file that
came from ``export``, by the appointment id it carries), so importing the same file
twice changes nothing. A row with ``repeat`` (an RRULE) becomes one appointment per
occurrence with external ids ``<external_id>#1``, ``#2``, ... Every row is planned
before any conflict is checked, so a row can collide with a later one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Any

import msgspec

from tlh.api.appointments import Action, ImportRow
from tlh.domain import recurrence, timeutil, transitions
from tlh.domain.models import (
    Appointment,
    Blocker,
    Client,
    Kind,
    Modality,
    Policy,
    Staff,
    Status,
)
from tlh.errors import InvalidInput, TlhError, TooLarge
from tlh.services.availability import check_availability
from tlh.services.context import new_id
from tlh.services.csvfile import TableRow
from tlh.services.import_clients import ClientMatcher
from tlh.services.import_conflicts import check_conflicts
from tlh.services.import_rows import (
    MAX_EXTERNAL_ID_CHARS,
    MAX_NOTES_CHARS,
    Candidate,
    RowPlan,
    parse_duration,
    parse_enum,
)
from tlh.store.base import Put, Repository

#: Most data rows one import may hold (a series row still counts as one).
MAX_ROWS = 100_000


@dataclass
class ImportPlan:
    """The writes an import makes and what each row comes to."""

    ops: list[Put]
    rows: list[ImportRow]
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    appointment_ids: list[str] = field(default_factory=list)
    client_ids: list[str] = field(default_factory=list)
    #: What each row writes, with its row: appointments made and changed, clients made.
    made: list[tuple[int, Appointment]] = field(default_factory=list)
    changed: list[tuple[int, Appointment]] = field(default_factory=list)
    new_clients: list[tuple[int, Client]] = field(default_factory=list)
    #: Appointments outside their clinicians' availability: (row, appointment id, why).
    warnings: list[tuple[int, str, Blocker]] = field(default_factory=list)

    @property
    def errors(self) -> list[dict[str, Any]]:
        """Every row error, as ``details`` entries."""
        return [msgspec.structs.asdict(e) for r in self.rows for e in r.errors]


class _Planner:
    """Plans rows in file order; what earlier rows claimed is remembered for later ones."""

    def __init__(
        self,
        store: Repository,
        policy: Policy,
        now: datetime,
        make_id: Callable[[str], str],
        staff: Iterable[Staff],
    ) -> None:
        self.store = store
        self.now = now
        self.make_id = make_id
        self.tz: tzinfo = timeutil.zone(policy.timezone)
        today = now.astimezone(self.tz).date()
        # One pass over the (small) staff table instead of a lookup per row.
        self.staff_by_email: dict[str, Staff] = {s.email.lower(): s for s in staff}
        self.clients = ClientMatcher(store, now, today, make_id)
        self.first_row_of_external: dict[str, int] = {}
        self.first_row_of_appt: dict[str, int] = {}
        self.starts: dict[str, datetime | str] = {}  # start text -> UTC time or error
        #: What ``preload`` read: stored appointments by external id, and by id.
        self.by_external: dict[object, list[Appointment]] = {}
        self.own: dict[str, Appointment] = {}

    # -- one row -------------------------------------------------------------

    async def plan_row(self, table_row: TableRow) -> RowPlan:
        """Check one row and work out its candidates (conflicts come later)."""
        plan = RowPlan(table_row.row)
        cells = table_row.cells
        external_id = cells.get("external_id")
        if external_id is not None:
            if len(external_id) > MAX_EXTERNAL_ID_CHARS:
                plan.bad("external_id", f"longer than {MAX_EXTERNAL_ID_CHARS} characters")
            first = self.first_row_of_external.setdefault(external_id, plan.row)
            if first != plan.row:
                plan.bad("external_id", f"duplicate of row {first}")
        repeat = cells.get("repeat")
        if repeat and external_id:
            existing_first = await self._existing(f"{external_id}#1")
        else:
            existing_first = await self._existing(external_id)

        kind = parse_enum(plan, cells, "kind", existing_first, Kind.APPOINTMENT)
        modality = parse_enum(plan, cells, "modality", existing_first, Modality.IN_PERSON)
        status = parse_enum(plan, cells, "status", existing_first, Status.SCHEDULED)
        if modality is Modality.TELEHEALTH and kind not in (None, Kind.APPOINTMENT):
            plan.bad("modality", "only kind appointment can be telehealth")
        clinician = self._clinician(plan, cells.get("clinician_email", ""))
        start = self._start(plan, cells.get("start", ""))
        duration = parse_duration(plan, cells.get("duration_min", ""))
        notes = cells.get("notes", "")
        if len(notes) > MAX_NOTES_CHARS:
            plan.bad("notes", f"longer than {MAX_NOTES_CHARS} characters")
        starts = [start] if start is not None else []
        if repeat and start is not None:
            try:
                starts = recurrence.expand(repeat, start, self.tz)
            except InvalidInput as err:
                plan.bad("repeat", err.message)
        client_id = await self.clients.resolve(plan, cells, kind, existing_first)
        if plan.errors or kind is None or modality is None or status is None:
            return plan
        # Both are set whenever no error was reported.
        assert clinician is not None
        assert duration is not None
        series_id = None
        if repeat:
            series_id = existing_first.series_id if existing_first else None
            series_id = series_id or self.make_id("ser")
        for n, occurrence in enumerate(starts, start=1):
            if repeat:
                ext = f"{external_id}#{n}" if external_id else None
                existing = existing_first if n == 1 else await self._existing(ext)
            else:
                ext, existing = external_id, existing_first
            base: dict[str, Any] = {
                "kind": kind,
                "modality": modality,
                "status": status,
                "start": occurrence,
                "duration_min": duration,
                "notes": notes,
            }
            if existing is None:
                appt = Appointment(
                    id=self.make_id("apt"),
                    clinician_ids=(clinician.id,),
                    client_ids=(client_id,) if client_id else (),
                    series_id=series_id,
                    rrule=repeat,
                    external_id=ext,
                    created_at=self.now,
                    updated_at=self.now,
                    **base,
                )
                plan.candidates.append(Candidate(plan.row, appt, "create"))
                continue
            first = self.first_row_of_appt.setdefault(existing.id, plan.row)
            if first != plan.row:
                plan.bad("external_id", f"updates the same appointment as row {first}")
                continue
            self._update(plan, existing, base, clinician, client_id, series_id, repeat)
        return plan

    def _update(
        self,
        plan: RowPlan,
        existing: Appointment,
        base: dict[str, Any],
        clinician: Staff,
        client_id: str | None,
        series_id: str | None,
        repeat: str | None,
    ) -> None:
        # A row names one clinician and one client: keep a group's full lists when
        # the row's people are already on it, so an exported file re-imports as is.
        clinician_ids = (
            existing.clinician_ids if clinician.id in existing.clinician_ids else (clinician.id,)
        )
        if client_id is None:
            client_ids: tuple[str, ...] = ()
        elif client_id in existing.client_ids:
            client_ids = existing.client_ids
        else:
            client_ids = (client_id,)
        series = {"series_id": series_id, "rrule": repeat} if repeat else {}
        changed = msgspec.structs.replace(
            existing, clinician_ids=clinician_ids, client_ids=client_ids, **base, **series
        )
        if changed == existing:
            plan.candidates.append(Candidate(plan.row, existing, "unchanged"))
            return
        if changed.status != existing.status:
            try:
                transitions.check_transition(existing.status, changed.status)
            except TlhError as err:
                plan.bad("status", err.message)
                return
        changed = msgspec.structs.replace(changed, updated_at=self.now)
        plan.candidates.append(Candidate(plan.row, changed, "update"))

    async def preload(self, rows: Sequence[TableRow]) -> None:
        """Read what the rows look up (appointments by external id, clients by external
        id and email) in a few queries before planning them one by one: on a database,
        a query per row would cost a round trip each."""
        externals = list(dict.fromkeys(e for r in rows if (e := r.cells.get("external_id"))))
        self.by_external = await self.store.find_many(Appointment, "external_id", externals)
        self.own = await self.store.get_many(
            Appointment, [e for e in externals if e.startswith("apt_")]
        )
        await self.clients.preload(rows)

    async def _existing(self, external_id: str | None) -> Appointment | None:
        if not external_id:
            return None
        stored = self.by_external.get(external_id)
        if stored is None:
            stored = await self.store.find(Appointment, "external_id", external_id)
        for found in stored:
            return found
        # An exported appointment without an external id carries its own id instead.
        if external_id.startswith("apt_"):
            got = (
                self.own.get(external_id)
                if external_id in self.by_external
                else await self.store.get(Appointment, external_id)
            )
            if got is not None and got.external_id is None:
                return got
        return None

    def _clinician(self, plan: RowPlan, email: str) -> Staff | None:
        staff = self.staff_by_email.get(email.strip().lower())
        if staff is None or not staff.active or not staff.is_clinician:
            plan.bad("clinician_email", "no active clinician has this email")
            return None
        return staff

    def _start(self, plan: RowPlan, text: str) -> datetime | None:
        # Many rows share a start (every clinician at 09:00): parse each text once.
        parsed = self.starts.get(text)
        if parsed is None:
            try:
                parsed = timeutil.parse_local(text, self.tz, "start")
            except InvalidInput as err:
                parsed = err.message
            self.starts[text] = parsed
        if isinstance(parsed, str):
            plan.bad("start", parsed)
            return None
        return parsed

    # -- result --------------------------------------------------------------

    def finish(self, plans: Sequence[RowPlan]) -> ImportPlan:
        """The writes and per-row results, each new client written once."""
        result = ImportPlan(ops=[], rows=[])
        for plan in plans:
            if plan.errors:
                result.rejected += 1
                result.rows.append(
                    ImportRow(row=plan.row, action="rejected", errors=tuple(plan.errors))
                )
                continue
            for cand in plan.candidates:
                if cand.action == "unchanged":
                    result.unchanged += 1
                    continue
                for client_id in cand.appt.client_ids:
                    client = self.clients.new_clients.pop(client_id, None)
                    if client is not None:  # popped: each new client is written once
                        result.ops.append(Put(client))
                        result.client_ids.append(client.id)
                        result.new_clients.append((plan.row, client))
                result.ops.append(Put(cand.appt))
                result.appointment_ids.append(cand.appt.id)
                if cand.action == "create":
                    result.created += 1
                    result.made.append((plan.row, cand.appt))
                else:
                    result.updated += 1
                    result.changed.append((plan.row, cand.appt))
            result.warnings += [(plan.row, i, w) for i, w in plan.warnings]
            actions = {c.action for c in plan.candidates}
            action: Action = (
                "create"
                if "create" in actions
                else "update"
                if "update" in actions
                else "unchanged"
            )
            first_id = plan.candidates[0].appt.id if plan.candidates else None
            result.rows.append(ImportRow(row=plan.row, action=action, id=first_id))
        return result


async def plan_import(
    rows: Sequence[TableRow],
    store: Repository,
    policy: Policy,
    now: datetime,
    new_id: Callable[[str], str] = new_id,
    *,
    strict_availability: bool = False,
) -> ImportPlan:
    """Check every row and work out the writes; reads the store, writes nothing.

    A row that books outside its clinician's availability is warned of, or rejected
    with ``strict_availability``.
    """
    if len(rows) > MAX_ROWS:
        raise TooLarge(f"the file has {len(rows):,} rows; the limit is {MAX_ROWS:,}")
    planner = _Planner(store, policy, now, new_id, await store.all(Staff))
    await planner.preload(rows)
    plans = [await planner.plan_row(row) for row in rows]
    await check_conflicts(store, plans)
    await _check_availability(store, policy, plans, strict_availability)
    return planner.finish(plans)


async def _check_availability(
    store: Repository, policy: Policy, plans: Sequence[RowPlan], strict: bool
) -> None:
    """Each good row's writes outside availability: a warning, or (``strict``) an error."""
    writes = {
        c.appt.id: plan
        for plan in plans
        if not plan.errors
        for c in plan.candidates
        if c.action != "unchanged"
    }
    appts = [
        c.appt for plan in plans if not plan.errors for c in plan.candidates if c.appt.id in writes
    ]
    for appt_id, warning in await check_availability(store, policy, appts):
        plan = writes[appt_id]
        if strict:
            plan.bad("start", warning.message)
        else:
            plan.warnings.append((appt_id, warning))
