"""``tlh audit``: read, export and verify the append-only audit log (admin)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from tlh.cli.exit import ExitStatus
from tlh.cli.output import Output
from tlh.cli.state import JsonOpt, output, run

if TYPE_CHECKING:
    from tlh.client import TlhClient

app = typer.Typer(help="Read, export and verify the audit log.", no_args_is_help=True)


@app.command("list")
def list_(
    ctx: typer.Context,
    since: Annotated[
        str | None,
        typer.Option("--since", help="Only entries at or after this ISO time (with offset)."),
    ] = None,
    limit: Annotated[int | None, typer.Option("--limit", help="At most this many entries.")] = None,
    json_: JsonOpt = False,
) -> None:
    """List audit entries."""
    output(ctx, json_)

    async def body(client: TlhClient, out: Output) -> None:
        entries = await client.audit.list(since=since, limit=limit)
        if out.as_json:
            out.json({"items": entries})
            return
        columns: list[str] = []
        for entry in entries:
            columns.extend(k for k in entry if k not in columns)
        out.table(columns, [[_cell(e.get(c)) for c in columns] for e in entries])

    run(ctx, body)


def _cell(value: object) -> object:
    if isinstance(value, dict | list):
        import msgspec

        return msgspec.json.encode(value).decode()
    return "" if value is None else value


@app.command("export")
def export(
    ctx: typer.Context,
    dest: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to this file (default stdout).")
    ] = None,
) -> None:
    """Export the audit log as stored (JSON lines)."""

    async def body(client: TlhClient, out: Output) -> None:
        from tlh.cli.exports import deliver

        deliver(out, dest, await client.audit.export())

    run(ctx, body)


@app.command("verify")
def verify(ctx: typer.Context, json_: JsonOpt = False) -> None:
    """Check the audit log has not been altered; exits non-zero naming each broken line."""
    output(ctx, json_)

    async def body(client: TlhClient, out: Output) -> int:
        result = await client.audit.verify()
        if out.as_json:
            out.json(result)
        elif result.ok:
            out.line(f"audit log intact: {result.entries} entries")
        for problem in result.problems:
            out.note(f"line {problem.line}: {problem.reason}")
        if result.ok:
            return 0
        first = result.problems[0].line if result.problems else "?"
        out.error(f"the audit log is broken at line {first}")
        return int(ExitStatus.ERROR)

    run(ctx, body)
