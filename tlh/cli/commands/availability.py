"""``tlh availability``: clinicians' weekly blocks (in person, telehealth or both)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from tlh.cli.output import Output
from tlh.cli.state import JsonOpt, output, run

if TYPE_CHECKING:
    from tlh.client import TlhClient

app = typer.Typer(help="Clinicians' weekly availability blocks.", no_args_is_help=True)

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def weekday_number(text: str) -> int:
    """``mon``..``sun`` (or full names, or 0-6) as 0 = Monday."""
    from tlh.errors import InvalidInput

    key = text.strip().lower()
    if key.isdigit() and 0 <= int(key) <= 6:
        return int(key)
    for number, short in enumerate(WEEKDAYS):
        if key[:3] == short and len(key) >= 3:
            return number
    raise InvalidInput("weekday must be one of mon, tue, wed, thu, fri, sat, sun")


@app.command("set")
def set_(
    ctx: typer.Context,
    clinician: Annotated[str, typer.Option("--clinician", help="Clinician email or id.")],
    weekday: Annotated[str, typer.Option("--weekday", help="mon, tue, wed, thu, fri, sat or sun.")],
    start: Annotated[str, typer.Option("--from", help="Local start time, HH:MM.")],
    end: Annotated[str, typer.Option("--to", help="Local end time, HH:MM.")],
    mode: Annotated[
        str, typer.Option("--mode", help="both, in_person or telehealth_only.")
    ] = "both",
    json_: JsonOpt = False,
) -> None:
    """Add a weekly availability block for a clinician."""
    output(ctx, json_)

    async def body(client: TlhClient, out: Output) -> None:
        day = WEEKDAYS[weekday_number(weekday)]  # checked here; sent as the API's day name
        block = await client.availability.add(clinician, day, start, end, mode)
        if out.as_json:
            out.json(block)
        else:
            out.line(block.id)
            out.note(f"added availability block {block.id}")

    run(ctx, body)


@app.command("list")
def list_(
    ctx: typer.Context,
    clinician: Annotated[
        str | None, typer.Option("--clinician", help="Only this clinician (email or id).")
    ] = None,
    json_: JsonOpt = False,
) -> None:
    """List availability blocks."""
    output(ctx, json_)

    async def body(client: TlhClient, out: Output) -> None:
        blocks = await client.availability.list(clinician)
        if out.as_json:
            out.json({"items": blocks})
            return
        staff = {s.id: s.email for s in await client.staff.list()}
        out.table(
            ("id", "clinician", "weekday", "from", "to", "mode"),
            [
                (
                    b.id,
                    staff.get(b.clinician_id, b.clinician_id),
                    WEEKDAYS[b.weekday] if 0 <= b.weekday < 7 else b.weekday,
                    b.start_local,
                    b.end_local,
                    b.mode.value,
                )
                for b in blocks
            ],
        )

    run(ctx, body)


@app.command("remove")
def remove(
    ctx: typer.Context,
    id: Annotated[str, typer.Argument(help="Block id.")],
    json_: JsonOpt = False,
) -> None:
    """Remove an availability block."""
    output(ctx, json_)

    async def body(client: TlhClient, out: Output) -> None:
        await client.availability.delete(id)
        if out.as_json:
            out.json({"ok": True, "id": id})
        else:
            out.note(f"removed {id}")

    run(ctx, body)
