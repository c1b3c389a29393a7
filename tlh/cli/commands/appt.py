"""``tlh appt``: the diary — add, list, change and explain appointments."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from tlh.cli.exit import ExitStatus
from tlh.cli.output import Output
from tlh.cli.render import appointment_fields, appointment_table
from tlh.cli.state import JsonOpt, output, run

from . import appt_files

if TYPE_CHECKING:
    from tlh.cli.names import Names
    from tlh.client import TlhClient
    from tlh.domain.models import Appointment

app = typer.Typer(help="Add, list, change and explain appointments.", no_args_is_help=True)
appt_files.register(app)

IdArg = Annotated[str, typer.Argument(help="Appointment id (apt_...).")]
NoNotifyOpt = Annotated[
    bool,
    typer.Option(
        "--no-notify",
        help="Tell nobody (a correction): no invitation, no new-time or in-person notice.",
    ),
]
StrictOpt = Annotated[
    bool,
    typer.Option(
        "--strict-availability",
        help="Refuse a booking outside the clinician's availability (default: warn).",
    ),
]
ClinicianOpt = Annotated[
    str | None, typer.Option("--clinician", help="Only this clinician (email or id).")
]


async def _show(client: TlhClient, out: Output, appts: list[Appointment], many: bool) -> None:
    from tlh.cli.names import Names

    if out.as_json:
        out.json({"items": appts} if many else appts[0])
        return
    names = await Names(client).load(c for a in appts for c in a.client_ids)
    if many:
        appointment_table(out, appts, names)
    else:
        appointment_fields(out, appts[0], names)


@app.command("add")
def add(
    ctx: typer.Context,
    client_ids: Annotated[
        list[str],
        typer.Option(
            "--client",
            help="The client: id, email, external id or full name (repeat for a group).",
        ),
    ],
    clinicians: Annotated[
        list[str], typer.Option("--clinician", help="Clinician email or id (repeatable).")
    ],
    start: Annotated[
        str,
        typer.Option(
            "--start",
            help="Start, ISO 8601 (local to the practice unless it has an offset), or e.g."
            " 'tomorrow 09:00'.",
        ),
    ],
    duration: Annotated[int, typer.Option("--duration", help="Length in minutes.")],
    telehealth: Annotated[bool, typer.Option("--telehealth", help="A telehealth session.")] = False,
    kind: Annotated[
        str | None, typer.Option("--kind", help="appointment, event, vacation or blackout.")
    ] = None,
    status: Annotated[str | None, typer.Option("--status", help="Initial status.")] = None,
    repeat: Annotated[
        str | None, typer.Option("--repeat", help="RRULE for a series, e.g. FREQ=WEEKLY;COUNT=6.")
    ] = None,
    external_id: Annotated[
        str | None, typer.Option("--external-id", help="Id in another system (idempotent imports).")
    ] = None,
    notes: Annotated[str | None, typer.Option("--notes", help="Free-text notes.")] = None,
    no_notify: NoNotifyOpt = False,
    strict_availability: StrictOpt = False,
    json_: JsonOpt = False,
) -> None:
    """Add an appointment (or a series with --repeat); prints the new ids, one a line. A
    telehealth one is invited at once when the practice's invite_on_create is on."""
    output(ctx, json_)

    async def body(client: TlhClient, out: Output) -> None:
        from tlh.cli.booking_notes import messages_note, warn_all
        from tlh.cli.days import resolve_all
        from tlh.cli.resolve import client_ids as resolve

        (when,) = await resolve_all(client, start)
        booked = await client.appointments.book(
            notify=not no_notify,
            strict_availability=strict_availability,
            client_ids=await resolve(client, out, client_ids),
            clinicians=clinicians,
            start=when or start,
            duration_min=duration,
            modality="telehealth" if telehealth else None,
            kind=kind,
            status=status,
            rrule=repeat,
            external_id=external_id,
            notes=notes,
        )
        warn_all(out, booked.warnings)
        if out.as_json:
            out.json(booked)
            return
        messages_note(out, booked.messages)
        from tlh.cli.names import Names
        from tlh.cli.render import appointment_line

        # Like every `add`: the new ids on stdout (APPT=$(tlh appt add ...)), and what
        # was booked, as people read it, on stderr.
        names = await Names(client).load(c for a in booked.items for c in a.client_ids)
        for appt in booked.items:
            out.line(appt.id)
            out.note(f"added {appt.id}: {appointment_line(appt, names)}")

    run(ctx, body)


@app.command("list")
def list_(
    ctx: typer.Context,
    date: Annotated[
        str | None,
        typer.Option("--date", help="Local day: YYYY-MM-DD, today, tomorrow... (default today)."),
    ] = None,
    from_: Annotated[
        str | None, typer.Option("--from", help="First local day: YYYY-MM-DD, today, yesterday...")
    ] = None,
    to: Annotated[str | None, typer.Option("--to", help="Last local day, inclusive.")] = None,
    clinician: ClinicianOpt = None,
    json_: JsonOpt = False,
) -> None:
    """List a day's appointments (default today) or a range's."""
    output(ctx, json_)

    async def body(client: TlhClient, out: Output) -> None:
        from tlh.cli.days import resolve_all

        day, first, last = await resolve_all(client, date, from_, to)
        found = await client.appointments.list(date=day, from_=first, to=last, clinician=clinician)
        if out.as_json:
            out.raw(client.last_body + b"\n")  # the API's bytes verbatim: no re-encode
            return
        await _show(client, out, found, many=True)

    run(ctx, body)


@app.command("show")
def show(ctx: typer.Context, id: IdArg, json_: JsonOpt = False) -> None:
    """Show one appointment."""
    output(ctx, json_)

    async def body(client: TlhClient, out: Output) -> None:
        await _show(client, out, [await client.appointments.get(id)], many=False)

    run(ctx, body)


@app.command("update")
def update(
    ctx: typer.Context,
    id: IdArg,
    start: Annotated[
        str | None, typer.Option("--start", help="New start: ISO 8601, or e.g. 'tomorrow 10:00'.")
    ] = None,
    duration: Annotated[
        int | None, typer.Option("--duration", help="New length in minutes.")
    ] = None,
    telehealth: Annotated[
        bool | None, typer.Option("--telehealth/--in-person", help="Change the modality.")
    ] = None,
    clinicians: Annotated[
        list[str] | None,
        typer.Option("--clinician", help="Replace the clinicians (repeatable, email or id)."),
    ] = None,
    notes: Annotated[str | None, typer.Option("--notes", help="Replace the notes.")] = None,
    copay: Annotated[
        bool | None,
        typer.Option("--copay-collected/--no-copay-collected", help="Record the copay."),
    ] = None,
    copay_amount: Annotated[
        str | None,
        typer.Option("--copay", help="The copay collected, e.g. 25.00 (marks it collected)."),
    ] = None,
    no_notify: NoNotifyOpt = False,
    json_: JsonOpt = False,
) -> None:
    """Change an appointment. Whoever was invited hears of a new time (a new link) or a
    change to in person (the link stops working); a change to telehealth invites."""
    output(ctx, json_)
    modality = None if telehealth is None else ("telehealth" if telehealth else "in_person")

    async def body(client: TlhClient, out: Output) -> None:
        from tlh.cli.days import resolve_all

        (when,) = await resolve_all(client, start)
        changed = await client.appointments.update(
            id,
            notify=not no_notify,
            start=when,
            duration_min=duration,
            modality=modality,
            clinicians=clinicians or None,
            notes=notes,
            copay_collected=copay,
            copay_amount=copay_amount,
        )
        await _show(client, out, [changed], many=False)

    run(ctx, body)


@app.command("status")
def status(
    ctx: typer.Context,
    id: IdArg,
    new: Annotated[str, typer.Argument(help="confirmed, checked_in, occurred, missed, ...")],
    json_: JsonOpt = False,
) -> None:
    """Move an appointment to a new status."""
    output(ctx, json_)

    async def body(client: TlhClient, out: Output) -> None:
        await _show(client, out, [await client.appointments.set_status(id, new)], many=False)

    run(ctx, body)


@app.command("cancel")
def cancel(ctx: typer.Context, id: IdArg, json_: JsonOpt = False) -> None:
    """Cancel an appointment (a late cancellation inside the policy's notice period)."""
    output(ctx, json_)

    async def body(client: TlhClient, out: Output) -> None:
        done = await client.appointments.cancel(id)
        if out.as_json:
            out.json(done)
        else:
            out.note(f"{done.id} is now {done.status.value}")

    run(ctx, body)


@app.command("explain")
def explain(
    ctx: typer.Context,
    id: IdArg,
    at: Annotated[
        str | None,
        typer.Option(
            "--at", help="Ask for this time (ISO 8601, or e.g. 'tomorrow 08:55') instead of now."
        ),
    ] = None,
    clinician: ClinicianOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Say whether a telehealth session can start, and every reason it cannot (exit 1
    when it cannot, with or without --json)."""
    output(ctx, json_)

    async def body(client: TlhClient, out: Output) -> int:
        from tlh.cli.days import resolve_all
        from tlh.cli.names import Names
        from tlh.cli.render import appointment_line

        (when,) = await resolve_all(client, at)
        answer = await client.appointments.eligibility(id, at=when, clinician=clinician)
        if out.as_json:
            out.json(answer)
        else:
            appt = await client.appointments.get(id)
            names = await Names(client).load(appt.client_ids)
            out.line(f"{appt.id}  {appointment_line(appt, names)}")
            verdict = "can start" if answer.can_start else "cannot start"
            out.line(f"at {names.time(answer.at)}: {verdict}")
            if answer.blockers:
                out.table(
                    ("code", "reason"),
                    [(b.code, _named(b.message, appt.client_ids, names)) for b in answer.blockers],
                )
            for w in answer.warnings:  # outside availability: it does not stop the start
                out.warn(w.message)
        # The same answer in both forms: a script reading --json can rely on the code.
        return 0 if answer.can_start else int(ExitStatus.ERROR)

    run(ctx, body)


def _named(message: str, client_ids: tuple[str, ...], names: Names) -> str:
    """A server message naming clients by id, with their names (only on this screen)."""
    for client_id in client_ids:
        message = message.replace(f"client {client_id}", names.client(client_id))
    return message
