"""``tlh outbox``: what the server has sent, is sending, or failed to send."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from tlh.cli.output import Output
from tlh.cli.state import JsonOpt, output, run

if TYPE_CHECKING:
    from tlh.client import TlhClient

app = typer.Typer(
    help="Messages to clients: their delivery state and rendered text (staff only).",
    no_args_is_help=True,
)

STATUSES = ("queued", "sending", "sent", "failed", "skipped")


@app.command("list")
def list_(
    ctx: typer.Context,
    status: Annotated[
        str | None, typer.Option("--status", help="Only queued, sending, sent, failed or skipped.")
    ] = None,
    since: Annotated[
        str | None,
        typer.Option("--since", help="From this day (YYYY-MM-DD); default the last 30 days."),
    ] = None,
    json_: JsonOpt = False,
) -> None:
    """List the outbox's messages of the last 30 days, and any not sent yet (recorded in
    the audit log)."""
    from .invite import usage

    output(ctx, json_)
    if status is not None and status not in STATUSES:
        raise usage(ctx, "--status must be " + ", ".join(STATUSES))

    async def body(client: TlhClient, out: Output) -> None:
        from tlh.cli.render import outbox_table

        found = await client.outbox.list(status, since)
        if out.as_json:
            out.raw(client.last_body + b"\n")
            return
        outbox_table(out, found, (await client.practice.get()).timezone)

    run(ctx, body)


@app.command("show")
def show(
    ctx: typer.Context,
    message_id: Annotated[str, typer.Argument(help="Message id, as `tlh outbox list` shows.")],
    json_: JsonOpt = False,
) -> None:
    """Show one message as it was (or will be) sent, with its rendered text."""
    output(ctx, json_)

    async def body(client: TlhClient, out: Output) -> None:
        from tlh.cli.output import clean
        from tlh.cli.render import message_fields

        found = await client.outbox.get(message_id)
        if out.as_json:
            out.raw(client.last_body + b"\n")
            return
        message_fields(out, found, (await client.practice.get()).timezone)
        out.line("")
        # Line by line, each shown literally: a template cannot drive the terminal.
        for text_line in found.text.splitlines():
            out.line(clean(text_line))

    run(ctx, body)
