"""``tlh login`` and ``tlh backup``: connecting to a server and copying its data."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from tlh.cli.output import Output
from tlh.cli.state import JsonOpt, output, run, state

if TYPE_CHECKING:
    from tlh.client import TlhClient


def login(
    ctx: typer.Context,
    url: Annotated[str, typer.Option("--url", help="The server, e.g. https://tlh.example.org.")],
    token: Annotated[str, typer.Option("--token", help="Your API token (tlh_...).")],
    json_: JsonOpt = False,
) -> None:
    """Check a URL and token against the server and save them in the config file."""
    st = output(ctx, json_)
    st.url, st.token = url, token

    async def body(client: TlhClient, out: Output) -> None:
        from tlh.cli import config

        me = await client.staff.me()
        path = config.save(url, token)
        if out.as_json:
            out.json(me)
        else:
            out.note(f"logged in as {me.email} ({me.role.value}); saved to {path}")

    run(ctx, body)


def backup(
    ctx: typer.Context,
    file: Annotated[
        Path,
        typer.Argument(
            help="Where to write the backup (an encrypted practice's is sealed: `tlh restore`"
            " opens it with the practice's key file or passphrase)."
        ),
    ],
) -> None:
    """Download a consistent backup of the server's data (admin)."""
    state(ctx)

    async def body(client: TlhClient, out: Output) -> None:
        from tlh.cli.exports import write_file

        data = await client.admin.backup()
        write_file(file, data)
        sealed = data.startswith(b"TLHBACKUP1\n")  # tlh.store.backup.BACKUP_MAGIC
        if out.as_json:
            out.json({"file": str(file), "bytes": len(data), "sealed": sealed})
        else:
            how = "sealed; it opens with the practice's key" if sealed else "not encrypted"
            out.note(f"wrote backup {file} ({len(data)} bytes, {how})")

    run(ctx, body)
