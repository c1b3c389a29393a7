"""``tlh report``: session and attendance reports for a range of local days."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import typer

from tlh.cli.output import Output
from tlh.cli.state import run

if TYPE_CHECKING:
    from tlh.client import TlhClient

app = typer.Typer(help="Session and attendance reports.", no_args_is_help=True)


class Format(StrEnum):
    TABLE = "table"
    CSV = "csv"
    JSON = "json"


FromOpt = Annotated[str, typer.Option("--from", help="First local day (YYYY-MM-DD).")]
ToOpt = Annotated[
    str | None, typer.Option("--to", help="Last local day, inclusive (default: --from).")
]
ClinicianOpt = Annotated[
    str | None, typer.Option("--clinician", help="Only this clinician (email or id).")
]
FormatOpt = Annotated[Format, typer.Option("--format", help="table, csv or json.")]

#: The columns a person reads in the table (CSV and JSON carry every field).
TABLE_COLUMNS = {
    "sessions": [
        "date",
        "session_id",
        "appointment_id",
        "clinician_id",
        "duration_min",
        "channels",
        "copay_amount",
    ],
    "attendance": [
        "scheduled_start",
        "appointment_id",
        "client_id",
        "clinician_id",
        "outcome",
        "minutes_late",
        "channel",
        "copay_amount",
    ],
}


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
    fmt: Format,
) -> None:
    async def body(client: TlhClient, out: Output) -> None:
        last = to or from_
        if fmt is Format.CSV:
            out.raw(await client.reports.csv(kind, from_, last, clinician))
            return
        items = await client.reports.rows(kind, from_, last, clinician)
        if fmt is Format.JSON:
            out.json({"items": items})
            return
        columns = TABLE_COLUMNS[kind]
        out.table(columns, [[_cell(item.get(c)) for c in columns] for item in items])

    run(ctx, body)


@app.command("sessions")
def sessions(
    ctx: typer.Context,
    from_: FromOpt,
    to: ToOpt = None,
    clinician: ClinicianOpt = None,
    fmt: FormatOpt = Format.TABLE,
) -> None:
    """Telehealth sessions started on the days: length, channels, copay."""
    _report(ctx, "sessions", from_, to, clinician, fmt)


@app.command("attendance")
def attendance(
    ctx: typer.Context,
    from_: FromOpt,
    to: ToOpt = None,
    clinician: ClinicianOpt = None,
    fmt: FormatOpt = Format.TABLE,
) -> None:
    """Attended, late, no-show and cancelled appointments on the days."""
    _report(ctx, "attendance", from_, to, clinician, fmt)
