"""``tlh slots``: clinicians' open slots, as clients booking themselves see them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from tlh.cli.output import Output
from tlh.cli.state import JsonOpt, output, run

if TYPE_CHECKING:
    from datetime import datetime

    from tlh.client import TlhClient


def slots(
    ctx: typer.Context,
    clinician: Annotated[
        list[str] | None,
        typer.Option("--clinician", help="Clinician email or id (repeatable; default: all)."),
    ] = None,
    from_: Annotated[
        str | None, typer.Option("--from", help="First local day, YYYY-MM-DD (default: today).")
    ] = None,
    to: Annotated[
        str | None,
        typer.Option("--to", help="Last local day, YYYY-MM-DD (default: the booking horizon)."),
    ] = None,
    modality: Annotated[
        str | None, typer.Option("--modality", help="telehealth or in_person (default: any).")
    ] = None,
    json_: JsonOpt = False,
) -> None:
    """List open slots: availability minus booked time, vacations and blackouts, within
    the practice's booking notice and horizon (policy booking_*)."""
    output(ctx, json_)

    async def body(client: TlhClient, out: Output) -> None:
        from tlh.cli.exit import UsageError
        from tlh.errors import BadRequest

        try:
            found = await client.slots.list(clinician or (), from_, to, modality)
        except BadRequest as exc:
            # A bad date, range or clinician is a usage error of this command (exit 2).
            raise UsageError(exc.message) from None
        if out.as_json:
            out.json({"items": found})
            return
        tz = (await client.practice.get()).timezone
        staff = {s.id: s.email for s in await client.staff.list()}
        out.table(
            ("start", "end", "clinician", "modes"),
            [
                (
                    _local(s.start, tz),
                    _local(s.end, tz)[-5:],
                    staff.get(s.clinician_id, s.clinician_id),
                    ",".join(m.value for m in s.modes),
                )
                for s in found
            ],
        )

    run(ctx, body)


def _local(at: datetime, tz: str) -> str:
    from tlh.domain.timeutil import zone

    return at.astimezone(zone(tz)).strftime("%Y-%m-%d %a %H:%M")
