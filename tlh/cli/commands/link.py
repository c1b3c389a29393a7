"""``tlh link``: an appointment's join links — list, revoke, send a fresh one."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from tlh.cli.output import Output
from tlh.cli.state import JsonOpt, output, run

if TYPE_CHECKING:
    from tlh.client import TlhClient

app = typer.Typer(help="List, revoke and resend an appointment's join links.", no_args_is_help=True)

LinkArg = Annotated[str, typer.Argument(help="Link id (lnk_...), as `tlh link list` shows.")]


@app.command("list")
def list_(
    ctx: typer.Context,
    appt: Annotated[str, typer.Argument(help="Appointment id (apt_...).")],
    json_: JsonOpt = False,
) -> None:
    """List an appointment's links: holder, channel, validity and revocation."""
    output(ctx, json_)

    async def body(client: TlhClient, out: Output) -> None:
        from tlh.cli.render import link_table

        found = await client.links.list(appt)
        if out.as_json:
            out.raw(client.last_body + b"\n")
            return
        link_table(out, found, (await client.practice.get()).timezone)

    run(ctx, body)


@app.command("revoke")
def revoke(ctx: typer.Context, link_id: LinkArg, json_: JsonOpt = False) -> None:
    """Revoke a link: it admits nobody from now on."""
    output(ctx, json_)

    async def body(client: TlhClient, out: Output) -> None:
        done = await client.links.revoke(link_id)
        if out.as_json:
            out.raw(client.last_body + b"\n")
        else:
            out.line(done.id)
            out.note(f"revoked link {done.id}")

    run(ctx, body)


@app.command("resend")
def resend(ctx: typer.Context, link_id: LinkArg, json_: JsonOpt = False) -> None:
    """Revoke a link and send its holder a new one the way the old one went."""
    output(ctx, json_)

    async def body(client: TlhClient, out: Output) -> None:
        from tlh.cli.render import sent_table

        sent = await client.links.resend(link_id)
        if out.as_json:
            out.raw(client.last_body + b"\n")
            return
        sent_table(out, sent)
        out.note(f"revoked link {link_id}; queued {len(sent.messages)} message(s)")

    run(ctx, body)
