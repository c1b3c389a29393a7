"""``tlh audit``: read, export and verify the append-only audit log (admin)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from tlh.cli.exit import ExitStatus
from tlh.cli.output import Output
from tlh.cli.state import JsonOpt, output, run

if TYPE_CHECKING:
    from tlh.cli.names import Names
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
        from tlh.cli.names import Names

        entries = await client.audit.list(since=since, limit=limit)
        if out.as_json:
            out.json({"items": entries})
            return
        names = await Names(client).load()
        out.table(
            ("#", f"at ({names.zone})", "who", "from", "action", "record", "hash"),
            [
                (
                    e.get("seq", ""),
                    _when(e.get("at"), names),
                    _who(e.get("actor"), names),
                    e.get("source") or "",
                    e.get("action", ""),
                    e.get("target", ""),
                    str(e.get("hash", ""))[:HASH_SHOWN],
                )
                for e in entries
            ],
        )
        out.note(f"hashes shortened to {HASH_SHOWN} characters: `tlh audit verify` checks them")

    run(ctx, body)


#: Characters of each entry's hash shown in the table (the full 64 are in --json).
HASH_SHOWN = 12
#: How actors that are not staff members read.
ACTORS = {
    "system": "system",
    "client_link": "client link",
    "client": "client",
    "contact": "contact",
}


def _when(value: object, names: Names) -> str:
    """An entry's time in the practice's zone, to the second."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    if not isinstance(value, str):
        return ""
    try:
        return (
            datetime.fromisoformat(value)
            .astimezone(ZoneInfo(names.zone))
            .strftime("%Y-%m-%d %H:%M:%S")
        )
    except (KeyError, ValueError):
        return value


def _who(actor: object, names: Names) -> str:
    """A staff member's name (and role); other actors by kind (a link by its id)."""
    if not isinstance(actor, dict):
        return ""
    kind, actor_id = str(actor.get("kind", "")), str(actor.get("id", ""))
    if kind == "staff":
        role = actor.get("role")
        return f"{names.staff(actor_id)} ({role})" if role else names.staff(actor_id)
    shown = ACTORS.get(kind, kind)
    return shown if actor_id in ("", kind) else f"{shown} {actor_id}"


@app.command("export")
def export(
    ctx: typer.Context,
    dest: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to this file (default stdout).")
    ] = None,
) -> None:
    """Export the audit log as stored (JSON lines; with --json one {"items": [...]})."""

    async def body(client: TlhClient, out: Output) -> None:
        from tlh.cli.exports import deliver

        data = await client.audit.export()
        if out.as_json and dest is None:
            # The stored lines (each one entry's JSON) framed as one document, bytes as
            # stored: the hash chain can still be checked from them.
            lines = [line for line in data.splitlines() if line.strip()]
            out.raw(b'{"items":[' + b",".join(lines) + b"]}\n")
            return
        deliver(out, dest, data, "jsonl")

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
