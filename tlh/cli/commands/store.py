"""``tlh store``: where the practice is kept. ``migrate`` copies a stopped server's data
dir into PostgreSQL. Like ``tlh restore``, it works on the store itself: the store is
imported lazily, inside the command (an import-linter exception, as for
``tlh.cli.commands.local``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tlh.cli.commands.local import KeyFileOpt, key_source
from tlh.cli.exit import ExitStatus
from tlh.cli.state import JsonOpt, handled, output

app = typer.Typer(help="Where the practice is kept: move it into PostgreSQL.")


@app.command("migrate")
def migrate(
    ctx: typer.Context,
    from_dir: Annotated[
        Path,
        typer.Option("--from", help="The data dir of the embedded store (its server stopped)."),
    ],
    to: Annotated[
        str,
        typer.Option(
            "--to",
            help="An empty PostgreSQL database: postgresql://user@host/db (a password in"
            " ~/.pgpass, not the URL).",
        ),
    ],
    key_file: KeyFileOpt = None,
    batch: Annotated[
        int,
        typer.Option("--batch", hidden=True, min=1, help="Records per transaction (tests)."),
    ] = 1000,
    as_json: JsonOpt = False,
) -> None:
    """Copy an embedded practice into an empty PostgreSQL database, then verify the copy.

    Copies the keyring (the same key file or TLH_PASSPHRASE opens the database), every
    record and the audit log (its chain continues in the database). At the end the
    counts of every table are compared and the audit chain is verified; a server opens
    the database only after that. The data dir is left as it was. Interrupted (even by
    kill -9), run it again: it finishes the copy without duplicates. Then serve with
    `tlh serve --store postgresql://...`."""
    import asyncio

    out = output(ctx, as_json).out
    with handled(out):
        from tlh.store.migrate import migrate as copy

        with out.progress("copying", 0, items=True) as update:
            result = asyncio.run(
                copy(from_dir, to, key_source(key_file), batch=batch, progress=update)
            )
        if out.as_json:
            out.json(
                {
                    "data_dir": result.data_dir,
                    "database": result.database,
                    "resumed": result.resumed,
                    "tables": {
                        t: {"data_dir": a, "database": b} for t, (a, b) in result.tables.items()
                    },
                    "audit_entries": {"data_dir": result.entries[0], "database": result.entries[1]},
                    "verified": result.ok,
                    "problems": result.problems,
                }
            )
        else:
            rows = [(t, a, b) for t, (a, b) in result.tables.items() if a or b]
            out.table(
                ["table", "data dir", "database"], [*rows, ("audit entries", *result.entries)]
            )
            for problem in result.problems:
                out.warn(problem)
            if result.ok:
                resumed = " (an interrupted copy finished)" if result.resumed else ""
                out.note(
                    f"copied {result.data_dir} to {result.database}{resumed}: counts equal,"
                    " audit chain verified; serve it with `tlh serve --store URL`"
                )
        if not result.ok:
            out.error("the copy does not match the data dir; see the lines above")
            raise typer.Exit(int(ExitStatus.ERROR))
