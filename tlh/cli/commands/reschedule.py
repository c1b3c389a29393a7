"""``tlh reschedule``: clients' requests to move a visit; staff accept or decline."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from tlh.cli.output import Output
from tlh.cli.state import JsonOpt, output, run

if TYPE_CHECKING:
    from tlh.client import TlhClient

app = typer.Typer(help="Clients' requests to move a visit.", no_args_is_help=True)


@app.command("list")
def list_(
    ctx: typer.Context,
    state: Annotated[
        str, typer.Option("--state", help="pending (default), accepted, declined or all.")
    ] = "pending",
    json_: JsonOpt = False,
) -> None:
    """List reschedule requests (oldest first)."""
    output(ctx, json_)

    async def body(client: TlhClient, out: Output) -> None:
        found = await client.reschedule.list(state)
        if out.as_json:
            out.json({"items": found})
            return
        tz = (await client.practice.get()).timezone
        from tlh.domain.timeutil import format_local, zone

        out.table(
            ("id", "appointment", "to", "state"),
            [
                (r.id, r.appointment_id, format_local(r.start, zone(tz)), r.state.value)
                for r in found
            ],
        )

    run(ctx, body)


@app.command("accept")
def accept(
    ctx: typer.Context,
    id: Annotated[str, typer.Argument(help="Request id.")],
    json_: JsonOpt = False,
) -> None:
    """Move the appointment as asked and send the usual reschedule message."""
    output(ctx, json_)

    async def body(client: TlhClient, out: Output) -> None:
        done = await client.reschedule.accept(id)
        if out.as_json:
            out.json(done)
        else:
            out.note(f"accepted {done.id}: {done.appointment_id} moved")

    run(ctx, body)


@app.command("decline")
def decline(
    ctx: typer.Context,
    id: Annotated[str, typer.Argument(help="Request id.")],
    json_: JsonOpt = False,
) -> None:
    """Decline the request; the appointment stays where it is."""
    output(ctx, json_)

    async def body(client: TlhClient, out: Output) -> None:
        done = await client.reschedule.decline(id)
        if out.as_json:
            out.json(done)
        else:
            out.note(f"declined {done.id}")

    run(ctx, body)
