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
"""

from __future__ import annotations

import gc
import re
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from enum import StrEnum
from typing import Any, Literal, TypeVar

import msgspec

from tlh.domain import conflicts, recurrence, timeutil, transitions
from tlh.domain.models import Appointment, Client, Kind, Modality, Policy, Role, Staff, Status
from tlh.errors import Forbidden, InvalidInput, TlhError, TooLarge
from tlh.services import validation
from tlh.services.context import Actor, Context, new_id
from tlh.services.csvfile import Format, TableRow, read_table, summarise
from tlh.store.base import Put, Repository

#: Most data rows one import may hold (a series row still counts as one).
MAX_ROWS = 100_000
MAX_NOTES_CHARS = 2_000
MAX_DURATION_MIN = 24 * 60
MAX_EXTERNAL_ID_CHARS = 200

#: A quick shape check for every row; the full check runs when a client is created.
_EMAIL_SHAPE = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")

#: Kinds that never have a client.
CLIENTLESS_KINDS = frozenset({Kind.VACATION, Kind.BLACKOUT})

Action = Literal["create", "update", "unchanged", "rejected"]
E = TypeVar("E", bound=StrEnum)


class RowError(msgspec.Struct, frozen=True, kw_only=True):
    row: int
    column: str
    reason: str


class RowResult(msgspec.Struct, frozen=True, kw_only=True):
    row: int
    action: Action
    #: The appointment (the first occurrence for a series row); ``None`` if rejected.
    id: str | None = None
    errors: tuple[RowError, ...] = ()


class ImportReport(msgspec.Struct, frozen=True, kw_only=True):
    """What an import did (or, with ``dry_run``, would do); see docs/API.md."""

    dry_run: bool
    created: int
    updated: int
    unchanged: int
    rejected: int
    rows: tuple[RowResult, ...]


@dataclass
class ImportPlan:
    """The writes an import makes and what each row comes to."""

    ops: list[Put]
    rows: list[RowResult]
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    appointment_ids: list[str] = field(default_factory=list)
    client_ids: list[str] = field(default_factory=list)

    @property
    def errors(self) -> list[dict[str, Any]]:
        """Every row error, as ``details`` entries."""
        return [msgspec.structs.asdict(e) for r in self.rows for e in r.errors]


@dataclass
class _Candidate:
    row: int
    appt: Appointment
    action: Literal["create", "update", "unchanged"]


@dataclass
class _RowPlan:
    row: int
    candidates: list[_Candidate] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)

    def bad(self, column: str, reason: str) -> None:
        self.errors.append(RowError(row=self.row, column=column, reason=reason))


class _Planner:
    def __init__(
        self, store: Repository, policy: Policy, now: datetime, make_id: Callable[[str], str]
    ) -> None:
        self.store = store
        self.now = now
        self.make_id = make_id
        self.tz: tzinfo = timeutil.zone(policy.timezone)
        self.today = now.astimezone(self.tz).date()
        # One pass over the (small) staff table instead of a lookup per row.
        self.staff_by_email: dict[str, Staff] = {
            s.email.lower(): s for s in store.all("staff") if isinstance(s, Staff)
        }
        self.new_clients: dict[str, Client] = {}  # by id
        self.new_by_key: dict[tuple[str, str], Client] = {}
        self.first_row_of_external: dict[str, int] = {}
        self.first_row_of_appt: dict[str, int] = {}
        self.starts: dict[str, datetime | str] = {}  # start text -> UTC time or error

    # -- one row -------------------------------------------------------------

    def plan_row(self, table_row: TableRow) -> _RowPlan:
        plan = _RowPlan(table_row.row)
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
            existing_first = self._existing(f"{external_id}#1")
        else:
            existing_first = self._existing(external_id)

        kind = self._enum(plan, cells, "kind", existing_first, Kind.APPOINTMENT)
        modality = self._enum(plan, cells, "modality", existing_first, Modality.IN_PERSON)
        status = self._enum(plan, cells, "status", existing_first, Status.SCHEDULED)
        if modality is Modality.TELEHEALTH and kind not in (None, Kind.APPOINTMENT):
            plan.bad("modality", "only kind appointment can be telehealth")
        clinician = self._clinician(plan, cells.get("clinician_email", ""))
        start = self._start(plan, cells.get("start", ""))
        duration = self._duration(plan, cells.get("duration_min", ""))
        notes = cells.get("notes", "")
        if len(notes) > MAX_NOTES_CHARS:
            plan.bad("notes", f"longer than {MAX_NOTES_CHARS} characters")
        starts = [start] if start is not None else []
        if repeat and start is not None:
            try:
                starts = recurrence.expand(repeat, start, self.tz)
            except InvalidInput as err:
                plan.bad("repeat", err.message)
        client_id = self._client(plan, cells, kind, existing_first)
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
                existing = existing_first if n == 1 else self._existing(ext)
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
                plan.candidates.append(_Candidate(plan.row, appt, "create"))
                continue
            first = self.first_row_of_appt.setdefault(existing.id, plan.row)
            if first != plan.row:
                plan.bad("external_id", f"updates the same appointment as row {first}")
                continue
            self._update(plan, existing, base, clinician, client_id, series_id, repeat)
        return plan

    def _update(
        self,
        plan: _RowPlan,
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
            plan.candidates.append(_Candidate(plan.row, existing, "unchanged"))
            return
        if changed.status != existing.status:
            try:
                transitions.check_transition(existing.status, changed.status)
            except TlhError as err:
                plan.bad("status", err.message)
                return
        changed = msgspec.structs.replace(changed, updated_at=self.now)
        plan.candidates.append(_Candidate(plan.row, changed, "update"))

    def _existing(self, external_id: str | None) -> Appointment | None:
        if not external_id:
            return None
        for found in self.store.find("appointments", "external_id", external_id):
            if isinstance(found, Appointment):
                return found
        # An exported appointment without an external id carries its own id instead.
        if external_id.startswith("apt_"):
            got = self.store.get("appointments", external_id)
            if isinstance(got, Appointment) and got.external_id is None:
                return got
        return None

    def _enum(
        self,
        plan: _RowPlan,
        cells: dict[str, str],
        column: str,
        existing: Appointment | None,
        default: E,
    ) -> E | None:
        enum = type(default)
        text = cells.get(column)
        if text is None:
            return default if existing is None else enum(getattr(existing, column))
        try:
            return enum(text.strip().lower().replace("-", "_"))
        except ValueError:
            plan.bad(column, f"must be one of: {', '.join(enum)}")
            return None

    def _clinician(self, plan: _RowPlan, email: str) -> Staff | None:
        staff = self.staff_by_email.get(email.strip().lower())
        if staff is None or not staff.active or staff.role is not Role.CLINICIAN:
            plan.bad("clinician_email", "no active clinician has this email")
            return None
        return staff

    def _start(self, plan: _RowPlan, text: str) -> datetime | None:
        # Many rows share a start (every clinician at 09:00): parse each text once.
        parsed = self.starts.get(text)
        if parsed is None:
            try:
                parsed = timeutil.parse_local(text, self.tz)
            except InvalidInput as err:
                parsed = err.message
            self.starts[text] = parsed
        if isinstance(parsed, str):
            plan.bad("start", parsed)
            return None
        return parsed

    def _duration(self, plan: _RowPlan, text: str) -> int | None:
        try:
            minutes = int(text)
        except ValueError:
            plan.bad("duration_min", "not a whole number of minutes")
            return None
        if not 0 < minutes <= MAX_DURATION_MIN:
            plan.bad("duration_min", f"must be between 1 and {MAX_DURATION_MIN}")
            return None
        return minutes

    # -- clients -------------------------------------------------------------

    def _client(
        self,
        plan: _RowPlan,
        cells: dict[str, str],
        kind: Kind | None,
        existing: Appointment | None,
    ) -> str | None:
        if kind in CLIENTLESS_KINDS:
            given = [c for c in cells if c.startswith("client_")]
            if given:
                plan.bad(given[0], f"a {kind} has no client")
            return None
        ext = cells.get("client_external_id")
        # Stored emails are normalised (lower-case), so a lower-cased lookup finds them;
        # the full (slow) validation is only needed when a new client is made.
        email = cells["client_email"].lower() if "client_email" in cells else None
        if email is not None and not _EMAIL_SHAPE.fullmatch(email):
            plan.bad("client_email", "invalid email address")
            return None
        if ext:
            found = self._stored_clients("external_id", ext)
            if len(found) > 1:
                plan.bad("client_external_id", f"{len(found)} clients have this external id")
                return None
            if found:
                return found[0].id
            if ("ext", ext) in self.new_by_key:
                return self.new_by_key["ext", ext].id
        if email:
            found = self._stored_clients("email", email)
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
        return self._new_client(plan, cells, ext, email, existing)

    def _new_client(
        self,
        plan: _RowPlan,
        cells: dict[str, str],
        ext: str | None,
        email: str | None,
        existing: Appointment | None,
    ) -> str | None:
        try:
            name = validation.clean_name(cells["client_name"])
        except InvalidInput as err:
            plan.bad("client_name", err.message)
            return None
        if existing is not None:
            for cid in existing.client_ids:
                known = self.store.get("clients", cid)
                if isinstance(known, Client) and known.name == name:
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
            created_at=self.now,
            updated_at=self.now,
        )
        self.new_clients[client.id] = client
        self.new_by_key[key] = client
        if email:
            self.new_by_key.setdefault(("email", email), client)
        return client.id

    def _stored_clients(self, column: str, value: str) -> list[Client]:
        return [c for c in self.store.find("clients", column, value) if isinstance(c, Client)]

    # -- conflicts -----------------------------------------------------------

    def check_conflicts(self, plans: Sequence[_RowPlan]) -> None:
        """Reject rows whose writes collide with the store or with an earlier row."""
        writes = [c for p in plans if not p.errors for c in p.candidates if c.action != "unchanged"]
        row_of = {c.appt.id: c.row for c in writes}
        by_clinician: dict[str, list[Appointment]] = defaultdict(list)
        for cand in writes:
            for clinician_id in cand.appt.clinician_ids:
                by_clinician[clinician_id].append(cand.appt)
        # Overlap prefilter on sorted intervals (O(n log n) + pairs), instead of
        # asking the domain about every pair; the domain still decides each conflict.
        neighbours: dict[str, list[Appointment]] = defaultdict(list)
        for clinician_id, appts in by_clinician.items():
            lo = min(a.start for a in appts)
            hi = max(a.end for a in appts)
            stored = self.store.appointments_between(
                lo - timedelta(minutes=1), hi + timedelta(minutes=1), clinician_id
            )
            timeline = sorted(
                [a for a in stored if a.id not in row_of] + appts, key=lambda a: a.start
            )
            for i, a in enumerate(timeline):
                a_end = a.end
                for j in range(i + 1, len(timeline)):
                    b = timeline[j]
                    if b.start > a_end:
                        break
                    if a.id in row_of:
                        neighbours[a.id].append(b)
                    if b.id in row_of:
                        neighbours[b.id].append(a)
        accepted: set[str] = set()
        for plan in plans:
            if plan.errors:
                continue
            mine: set[str] = set()
            reasons: dict[str, None] = {}
            for cand in plan.candidates:
                if cand.action == "unchanged":
                    continue
                others = [
                    o
                    for o in neighbours.get(cand.appt.id, ())
                    if o.id not in row_of or o.id in accepted or o.id in mine
                ]
                for found in conflicts.find_conflicts(cand.appt, others):
                    other_row = row_of.get(found.other_id)
                    if other_row == plan.row:
                        label = "another occurrence of this series"
                    elif other_row is not None:
                        label = f"row {other_row}"
                    else:
                        label = found.other_id
                    reasons[f"conflicts with {label} ({found.code})"] = None
                mine.add(cand.appt.id)
            for reason in reasons:
                plan.bad("start", reason)
            if not plan.errors:
                accepted |= mine

    # -- result --------------------------------------------------------------

    def finish(self, plans: Sequence[_RowPlan]) -> ImportPlan:
        result = ImportPlan(ops=[], rows=[])
        for plan in plans:
            if plan.errors:
                result.rejected += 1
                result.rows.append(
                    RowResult(row=plan.row, action="rejected", errors=tuple(plan.errors))
                )
                continue
            for cand in plan.candidates:
                if cand.action == "unchanged":
                    result.unchanged += 1
                    continue
                for client_id in cand.appt.client_ids:
                    client = self.new_clients.pop(client_id, None)
                    if client is not None:  # popped: each new client is written once
                        result.ops.append(Put("clients", client))
                        result.client_ids.append(client.id)
                result.ops.append(Put("appointments", cand.appt))
                result.appointment_ids.append(cand.appt.id)
                if cand.action == "create":
                    result.created += 1
                else:
                    result.updated += 1
            actions = {c.action for c in plan.candidates}
            action: Action = (
                "create"
                if "create" in actions
                else "update"
                if "update" in actions
                else "unchanged"
            )
            first_id = plan.candidates[0].appt.id if plan.candidates else None
            result.rows.append(RowResult(row=plan.row, action=action, id=first_id))
        return result


def plan_import(
    rows: Sequence[TableRow],
    store: Repository,
    policy: Policy,
    now: datetime,
    new_id: Callable[[str], str] = new_id,
) -> ImportPlan:
    """Check every row and work out the writes; reads the store, writes nothing."""
    if len(rows) > MAX_ROWS:
        raise TooLarge(f"the file has {len(rows):,} rows; the limit is {MAX_ROWS:,}")
    planner = _Planner(store, policy, now, new_id)
    plans = [planner.plan_row(row) for row in rows]
    planner.check_conflicts(plans)
    return planner.finish(plans)


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
    await ctx.store.commit(plan.ops)
    if plan.client_ids:
        await ctx.audit.append_many(actor, "client.create", plan.client_ids)
    await ctx.audit.append_many(actor, "appointment.import", plan.appointment_ids)
    ctx.events.publish("appointments.imported", {"created": plan.created, "updated": plan.updated})
    return report
