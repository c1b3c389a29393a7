"""``tlh invite``: send or hand out join links (one appointment, a whole day, now, guests)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from tlh.cli.exit import ExitStatus
from tlh.cli.output import Output, clean
from tlh.cli.state import JsonOpt, output, run

if TYPE_CHECKING:
    from tlh.client import TlhClient

app = typer.Typer(
    help="Send clients their telehealth links, or make links to copy, for guests and websites.",
    no_args_is_help=True,
)

EmailFlag = Annotated[bool, typer.Option("--email", help="Send by email (the default).")]
SmsFlag = Annotated[bool, typer.Option("--sms", help="Send by text message.")]
ToOpt = Annotated[
    str | None,
    typer.Option(
        "--to", help="Address to use; a missing email or phone is added to the record (audited)."
    ),
]
ContactOpt = Annotated[
    str | None, typer.Option("--contact", help="A contact (caregiver) id of the client.")
]
ClinicianOpt = Annotated[
    str | None, typer.Option("--clinician", help="The clinician's email or id (default: you).")
]


async def me_unless(client: TlhClient, clinician: str | None) -> str:
    """``clinician``, or the logged-in staff member's id: an option that would only
    repeat who is logged in is not required."""
    return clinician if clinician else (await client.staff.me()).id


def usage(ctx: typer.Context, message: str) -> typer.Exit:
    """Print a one-line usage error; the caller raises the returned exit (code 2)."""
    output(ctx, False).out.error(message)
    return typer.Exit(int(ExitStatus.USAGE))


def pick_channel(ctx: typer.Context, default: str | None = "email", **flags: bool) -> str | None:
    """The one channel whose flag was given (``default`` when none); two is a usage error."""
    chosen = [name for name, on in flags.items() if on]
    if len(chosen) > 1:
        raise usage(ctx, "choose one of " + ", ".join(f"--{name}" for name in flags))
    return chosen[0] if chosen else default


def _api_json(client: TlhClient, out: Output) -> None:
    """The answer's bytes verbatim: ``--json`` is the wire format, not a re-encoding."""
    out.raw(client.last_body + b"\n")


@app.command("send")
def send(
    ctx: typer.Context,
    appt: Annotated[
        str | None, typer.Argument(help="Appointment id (apt_...); or use --date.")
    ] = None,
    date: Annotated[
        str | None,
        typer.Option(
            "--date",
            help="Invite every telehealth appointment of this local day (YYYY-MM-DD, tomorrow...).",
        ),
    ] = None,
    email: EmailFlag = False,
    sms: SmsFlag = False,
    to: ToOpt = None,
    contact: ContactOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Send an appointment's join link (or a whole day's) by email or text."""
    output(ctx, json_)
    channel = pick_channel(ctx, email=email, sms=sms) or "email"
    if (appt is None) == (date is None):
        raise usage(ctx, "give an appointment id or --date, not both")
    if date is not None and (to or contact):
        raise usage(ctx, "--to and --contact apply to one appointment, not to --date")

    async def one(client: TlhClient, out: Output) -> None:
        from tlh.cli.render import sent_table

        assert appt is not None
        sent = await client.invites.send(appt, channel, to=to, contact_id=contact)
        if out.as_json:
            _api_json(client, out)
            return
        sent_table(out, sent)
        out.note(f"queued {len(sent.messages)} {channel} message(s) for {appt}")

    async def day(client: TlhClient, out: Output) -> None:
        from tlh.cli.days import resolve_all

        (day_,) = await resolve_all(client, date)
        assert day_ is not None
        with out.working(f"sending the invitations of {day_} by {channel}"):
            report = await client.invites.day(day_, channel)
        if out.as_json:
            _api_json(client, out)
            return
        out.line(
            f"sent {report.sent}, skipped {len(report.skipped)}"
            f" ({report.messages} message(s) queued)"
        )
        for skip in report.skipped:
            out.line(f"  skipped {clean(skip.appointment_id)}: {clean(skip.reason)}")

    run(ctx, one if appt is not None else day)


@app.command("link")
def link(
    ctx: typer.Context,
    appt: Annotated[str, typer.Argument(help="Appointment id (apt_...).")],
    contact: ContactOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Make a join link to copy into a message of your own; prints only the URL."""
    output(ctx, json_)

    async def body(client: TlhClient, out: Output) -> None:
        made = await client.invites.link(appt, contact_id=contact)
        if out.as_json:
            _api_json(client, out)
        else:
            out.line(made.url)

    run(ctx, body)


@app.command("quick")
def quick(
    ctx: typer.Context,
    client_id: Annotated[
        str, typer.Argument(help="The client: id (cli_...), email, external id or full name.")
    ],
    clinician: Annotated[
        str | None,
        typer.Option("--clinician", help="The clinician's email or id (default: you)."),
    ] = None,
    email: Annotated[bool, typer.Option("--email", help="Send the link by email.")] = False,
    sms: SmsFlag = False,
    copy: Annotated[
        bool, typer.Option("--copy", help="Print the link to copy instead (the default).")
    ] = False,
    to: ToOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Start an unscheduled telehealth session now and invite the client to it."""
    output(ctx, json_)
    channel = pick_channel(ctx, default=None, email=email, sms=sms, copy=copy)

    async def body(client: TlhClient, out: Output) -> None:
        from tlh.cli.resolve import client_id as resolve

        who = await resolve(client, out, client_id)
        made = await client.invites.quick(who, clinician=clinician, channel=channel, to=to)
        if out.as_json:
            _api_json(client, out)
        elif channel in (None, "copy"):
            out.line(made.url)
            out.note(f"session {made.appointment.id}: the link works until the room closes")
        else:
            out.line(made.appointment.id)
            out.note(f"session {made.appointment.id}: link sent by {channel}")

    run(ctx, body)


@app.command("guest")
def guest(ctx: typer.Context, clinician: ClinicianOpt = None, json_: JsonOpt = False) -> None:
    """Make a link that lets a guest into a clinician's waiting room; prints the URL."""
    output(ctx, json_)

    async def body(client: TlhClient, out: Output) -> None:
        made = await client.invites.guest(await me_unless(client, clinician))
        if out.as_json:
            _api_json(client, out)
        else:
            out.line(made.url)

    run(ctx, body)


@app.command("website")
def website(ctx: typer.Context, clinician: ClinicianOpt = None, json_: JsonOpt = False) -> None:
    """Print an HTML snippet for the practice's website that opens a clinician's room."""
    output(ctx, json_)

    async def body(client: TlhClient, out: Output) -> None:
        snippet = await client.invites.website(await me_unless(client, clinician))
        if out.as_json:
            _api_json(client, out)
        else:
            out.line(snippet.html.rstrip("\n"))

    run(ctx, body)
