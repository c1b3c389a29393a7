"""``tlh appt import`` and ``tlh appt export``: appointments in and out as files."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from tlh.cli.exit import ExitStatus
from tlh.cli.output import Output
from tlh.cli.state import JsonOpt, output, run

if TYPE_CHECKING:
    from tlh.api.appointments import ImportReport, RowError
    from tlh.client import TlhClient

#: Larger files are refused before upload (the server's own limit is a little higher).
MAX_IMPORT_BYTES = 50 * 1024 * 1024
_FORMATS = {".csv": "csv", ".json": "json"}


def _row_line(err: RowError) -> str:
    where = f"row {err.row}, column {err.column}" if err.column else f"row {err.row}"
    return f"{where}: {err.reason}"


def import_format(path: Path) -> str:
    """``csv`` or ``json`` from the file's extension; anything else is InvalidInput."""
    from tlh.errors import InvalidInput

    fmt = _FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise InvalidInput(f"cannot tell the format of {path.name}: name it .csv or .json")
    return fmt


def read_import_file(path: Path) -> bytes:
    """The file's bytes, refusing missing, unreadable and too large files up front."""
    from tlh.errors import InvalidInput, TooLarge

    try:
        size = path.stat().st_size
    except OSError:
        raise InvalidInput(f"cannot read {path}: no such file") from None
    if size > MAX_IMPORT_BYTES:
        raise TooLarge(
            f"{path.name} is {size / 2**20:.1f} MB; imports are limited to "
            f"{MAX_IMPORT_BYTES // 2**20} MB: split the file"
        )
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InvalidInput(f"cannot read {path}: {exc.strerror}") from None


def register(app: typer.Typer) -> None:
    """Add ``import`` and ``export`` to the ``appt`` sub-app."""
    app.command("import")(import_)
    app.command("export")(export)


def import_(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="A .csv or .json file of appointments.")],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Check every row and report; change nothing.")
    ] = False,
    partial: Annotated[
        bool, typer.Option("--partial", help="Import the good rows even if some are rejected.")
    ] = False,
    no_notify: Annotated[
        bool,
        typer.Option(
            "--no-notify",
            help="Send nothing: no invitation or notice; reminders already due held back.",
        ),
    ] = False,
    strict_availability: Annotated[
        bool,
        typer.Option(
            "--strict-availability",
            help="Reject rows outside their clinician's availability (default: warn).",
        ),
    ] = False,
    json_: JsonOpt = False,
) -> None:
    """Import appointments from a file (idempotent by external id). Telehealth visits it
    creates are invited (the practice's invite_on_create), those it moves, cancels or
    turns in person are followed up, as when booked or changed one by one."""
    output(ctx, json_)

    async def body(client: TlhClient, out: Output) -> int:
        from tlh.api.appointments import row_errors
        from tlh.errors import InvalidInput

        fmt = import_format(file)
        data = read_import_file(file)
        try:
            with out.progress("uploading", len(data)) as update:
                report = await client.appointments.import_file(
                    data,
                    fmt,
                    dry_run=dry_run,
                    partial=partial,
                    progress=update,
                    notify=not no_notify,
                    strict_availability=strict_availability,
                )
        except InvalidInput as exc:
            problems = row_errors(exc.details)
            if not problems:
                raise
            for problem in problems:
                out.note(_row_line(problem))
            rows = len({p.row for p in problems})
            out.error(f"import rejected: {rows} row(s) have errors; nothing was imported")
            return int(ExitStatus.INVALID)
        if out.as_json:
            out.json(report)
        else:
            _summary(out, report)
        for row in report.rows:
            for problem in row.errors:
                out.note(_row_line(problem))
        return int(ExitStatus.INVALID) if report.rejected else 0

    run(ctx, body)


def _summary(out: Output, report: ImportReport) -> None:
    """What the import did (a dry run: would do): counts on stdout, and for a dry run
    the clients it would create and the messages it would send; warnings on stderr."""
    from tlh.cli.booking_notes import (
        clients_table,
        message_counts,
        messages_table,
        warn_all,
    )

    prefix = "dry run: would have " if report.dry_run else ""
    out.line(
        f"{prefix}created {report.created}, updated {report.updated}, "
        f"unchanged {report.unchanged}, rejected {report.rejected}; "
        f"new clients {report.clients_created}; messages {len(report.messages)}"
        + (f" ({message_counts(report.messages)})" if report.messages else "")
    )
    if report.held_back:
        verb = "would hold" if report.dry_run else "held"
        out.line(f"{verb} back {report.held_back} reminder(s) already due (--no-notify)")
    if report.dry_run and report.clients:
        clients_table(out, report.clients)
    if report.dry_run and report.messages:
        messages_table(out, report.messages)
    warn_all(out, report.warnings)


def export(
    ctx: typer.Context,
    from_: Annotated[
        str | None, typer.Option("--from", help="First local day: YYYY-MM-DD, today, yesterday...")
    ] = None,
    to: Annotated[str | None, typer.Option("--to", help="Last local day, inclusive.")] = None,
    fmt: Annotated[str | None, typer.Option("--format", help="csv (default), json or ics.")] = None,
    dest: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to this file (default stdout).")
    ] = None,
) -> None:
    """Export appointments as a CSV, JSON or iCalendar file (JSON with --json)."""

    async def body(client: TlhClient, out: Output) -> None:
        from tlh.cli.days import resolve_all
        from tlh.cli.exports import deliver, export_format

        chosen = export_format(out, fmt, ("csv", "json", "ics"))
        first, last = await resolve_all(client, from_, to)
        deliver(out, dest, await client.appointments.export(first, last, chosen), chosen)

    run(ctx, body)
