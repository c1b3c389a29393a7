"""Session and attendance reports over local days ``from``..``to`` (inclusive).

Reads appointments and session segments from the store; the rules live in
``tlh.domain.reports``. Every report read is audited against the clients it shows.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any, Literal

import msgspec

from tlh.domain.models import Appointment, Kind, Role
from tlh.domain.reports import AttendanceRow, SessionRow, attendance_rows, session_rows
from tlh.domain.sessions import SessionSegment
from tlh.domain.timeutil import check_year, local_day_bounds, zone
from tlh.errors import BadRequest, Forbidden, NotFound
from tlh.services import auth
from tlh.services.context import Actor, Context
from tlh.services.exporting import escape_formula
from tlh.services.sessions import started_between
from tlh.services.staff import find_staff, shown

READERS = (Role.ADMIN, Role.SCHEDULER, Role.CLINICIAN)
#: Longest range one report covers (days), so one request cannot scan everything forever.
MAX_DAYS = 366 * 2
Format = Literal["json", "csv"]

SESSION_FIELDS = list(SessionRow.__struct_fields__)
ATTENDANCE_FIELDS = list(AttendanceRow.__struct_fields__)


def _day(value: str | None, name: str) -> date:
    if not value:
        raise BadRequest(f"{name} is required (YYYY-MM-DD)")
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise BadRequest(f"{name} is not a date (YYYY-MM-DD)") from None
    return check_year(day, name)


def _range(ctx: Context, from_: str | None, to: str | None) -> tuple[datetime, datetime]:
    first, last = _day(from_, "from"), _day(to, "to")
    if last < first:
        raise BadRequest("from is after to")
    if (last - first).days > MAX_DAYS:
        raise BadRequest("ask for at most two years at a time")
    tz = zone(ctx.policy().timezone)
    start, _ = local_day_bounds(first, tz)
    _, end = local_day_bounds(last, tz)
    return start, end


async def _clinician(ctx: Context, actor: Actor, ref: str | None) -> str | None:
    """The clinician to filter on; clinicians see only their own sessions."""
    clinician_id: str | None = None
    if ref:
        try:
            staff = await find_staff(ctx, ref)
        except NotFound:
            raise BadRequest(f"no clinician has the id or email {shown(ref)}") from None
        if not staff.is_clinician:
            raise BadRequest(f"no clinician has the id or email {shown(ref)}")
        clinician_id = staff.id
    if actor.role is Role.CLINICIAN:
        if clinician_id not in (None, actor.id):
            raise Forbidden("clinicians can see only their own reports")
        clinician_id = actor.id
    return clinician_id


async def _audit(ctx: Context, actor: Actor, action: str, client_ids: Sequence[str]) -> None:
    ids = sorted(set(client_ids))
    # An empty report still records that someone looked.
    await ctx.audit.append_many(actor, action, ids or ["report"])


async def sessions_report(
    ctx: Context,
    actor: Actor,
    *,
    from_: str | None,
    to: str | None,
    clinician: str | None = None,
) -> list[SessionRow]:
    """One row per session segment started within the local days, oldest first."""
    auth.require_role(actor, *READERS)
    start, end = _range(ctx, from_, to)
    clinician_id = await _clinician(ctx, actor, clinician)
    tz = zone(ctx.policy().timezone)
    found = []
    for segment in await started_between(ctx, start, end, clinician_id):
        if segment.self_test:
            continue
        appt = await ctx.store.get(Appointment, segment.appointment_id or "")
        found.append((segment, appt))
    rows = session_rows(found, tz)
    await _audit(ctx, actor, "report.sessions", [c for r in rows for c in r.client_ids])
    return rows


async def attendance_report(
    ctx: Context,
    actor: Actor,
    *,
    from_: str | None,
    to: str | None,
    clinician: str | None = None,
) -> list[AttendanceRow]:
    """One row per client of each appointment scheduled within the local days."""
    auth.require_role(actor, *READERS)
    start, end = _range(ctx, from_, to)
    clinician_id = await _clinician(ctx, actor, clinician)
    policy, now = ctx.policy(), ctx.clock()
    rows: list[AttendanceRow] = []
    for appt in await ctx.store.appointments_between(start, end, clinician_id):
        if appt.kind is not Kind.APPOINTMENT or not start <= appt.start < end:
            continue
        segments = await ctx.store.find(SessionSegment, "appointment_id", appt.id)
        rows.extend(attendance_rows(appt, segments, policy, now))
    rows.sort(key=lambda r: (r.scheduled_start, r.appointment_id, r.client_id))
    await _audit(ctx, actor, "report.attendance", [r.client_id for r in rows])
    return rows


def _place(location: dict[str, Any]) -> str:
    """One person's location in a CSV cell: ``place · phone``."""
    return f"{location.get('place', '')} · {location.get('phone', '')}"


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list | tuple) and value and isinstance(value[0], dict):
        # Locations: a place may hold any separator but a line break (one line each).
        return "\n".join(escape_formula(_place(v)) for v in value)
    if isinstance(value, list | tuple):
        return ";".join(str(v) for v in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return escape_formula(str(value))


def render(rows: Sequence[msgspec.Struct], fields: Sequence[str], fmt: Format) -> bytes:
    """Rows as ``{"items": [...]}`` JSON or as CSV with a header row."""
    if fmt == "json":
        return msgspec.json.encode({"items": list(rows)})
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(fields)
    for row in rows:
        data = msgspec.to_builtins(row)
        writer.writerow([_cell(data.get(f)) for f in fields])
    return buffer.getvalue().encode()


def parse_format(value: str | None) -> Format:
    """``json`` (default) or ``csv``; anything else is a 400."""
    if value in (None, "", "json"):
        return "json"
    if value == "csv":
        return "csv"
    raise BadRequest("format must be json or csv")
