"""``tlh report``: session and attendance reports for a range of local days."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any

import typer

from tlh.cli.output import Output
from tlh.cli.state import run

if TYPE_CHECKING:
    from tlh.cli.names import Names
    from tlh.client import TlhClient

app = typer.Typer(help="Session and attendance reports.", no_args_is_help=True)


class Format(StrEnum):
    TABLE = "table"
    CSV = "csv"
    JSON = "json"


FromOpt = Annotated[
    str, typer.Option("--from", help="First local day (YYYY-MM-DD, today, yesterday...).")
]
ToOpt = Annotated[
    str | None, typer.Option("--to", help="Last local day, inclusive (default: --from).")
]
ClinicianOpt = Annotated[
    str | None, typer.Option("--clinician", help="Only this clinician (email or id).")
]
FormatOpt = Annotated[
    Format | None, typer.Option("--format", help="table (default), csv or json (as --json).")
]

#: What happened, as a person reads it.
OUTCOMES = {"no_show": "no-show", "late_cancelled": "late cancel"}


def _sessions_table(out: Output, items: list[dict[str, Any]], names: Names) -> None:
    out.table(
        (
            f"start ({names.zone})",
            "session",
            "appointment",
            "clinician",
            "clients",
            "min",
            "channels",
            "copay",
        ),
        [
            (
                names.time(_at(r.get("start"))),
                r.get("session_id"),
                r.get("appointment_id") or "(room)",
                names.staff(r.get("clinician_id")),
                names.clients(r.get("client_ids") or ()),
                _cell(r.get("duration_min")),
                _cell(r.get("channels")),
                _cell(r.get("copay_amount")),
            )
            for r in items
        ],
    )


def _attendance_table(out: Output, items: list[dict[str, Any]], names: Names) -> None:
    out.table(
        (
            f"start ({names.zone})",
            "appointment",
            "client",
            "clinician",
            "outcome",
            "min late",
            "channel",
            "copay",
        ),
        [
            (
                names.time(_at(r.get("scheduled_start"))),
                r.get("appointment_id"),
                names.client(r.get("client_id")),
                names.staff(r.get("clinician_id")),
                OUTCOMES.get(str(r.get("outcome")), _cell(r.get("outcome"))),
                _cell(r.get("minutes_late")),
                _cell(r.get("channel")),
                _cell(r.get("copay_amount")),
            )
            for r in items
        ],
    )


def _at(value: object) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else None


def _cell(value: object) -> object:
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return "" if value is None else value


def _report(
    ctx: typer.Context,
    kind: str,
    from_: str,
    to: str | None,
    clinician: str | None,
    fmt: Format | None,
) -> None:
    async def body(client: TlhClient, out: Output) -> None:
        from tlh.cli.days import resolve_all
        from tlh.cli.exports import export_format
        from tlh.cli.names import Names

        chosen = export_format(out, fmt and fmt.value, ("table", "csv", "json"))
        days = await resolve_all(client, from_, to or from_)
        first, last = days[0] or from_, days[1] or from_
        if chosen == "csv":
            out.raw(await client.reports.csv(kind, first, last, clinician))
            return
        items = await client.reports.rows(kind, first, last, clinician)
        if chosen == "json":
            out.json({"items": items})
            return
        if kind == "sessions":
            shown = [c for r in items for c in r.get("client_ids") or ()]
            _sessions_table(out, items, await Names(client).load(shown))
        else:
            shown = [str(r.get("client_id")) for r in items]
            _attendance_table(out, items, await Names(client).load(shown))

    run(ctx, body)


@app.command("sessions")
def sessions(
    ctx: typer.Context,
    from_: FromOpt,
    to: ToOpt = None,
    clinician: ClinicianOpt = None,
    fmt: FormatOpt = None,
) -> None:
    """Telehealth sessions started on the days: length, channels, copay."""
    _report(ctx, "sessions", from_, to, clinician, fmt)


@app.command("attendance")
def attendance(
    ctx: typer.Context,
    from_: FromOpt,
    to: ToOpt = None,
    clinician: ClinicianOpt = None,
    fmt: FormatOpt = None,
) -> None:
    """Attended, late, no-show and cancelled appointments on the days."""
    _report(ctx, "attendance", from_, to, clinician, fmt)
