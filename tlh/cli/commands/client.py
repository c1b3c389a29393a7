"""``tlh client``: the practice's clients and their contacts."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from tlh.cli.output import Output
from tlh.cli.render import client_fields, client_table
from tlh.cli.state import JsonOpt, output, run

if TYPE_CHECKING:
    from tlh.client import TlhClient
    from tlh.domain.models import Client

app = typer.Typer(help="Add, find and change clients and their contacts.", no_args_is_help=True)
contact_app = typer.Typer(help="A client's contacts (caregivers).", no_args_is_help=True)
app.add_typer(contact_app, name="contact")

IdArg = Annotated[
    str, typer.Argument(help="The client: id (cli_...), email, external id or full name.")
]
EmailOpt = Annotated[str | None, typer.Option("--email", help="Email address.")]
PhoneOpt = Annotated[str | None, typer.Option("--phone", help="Mobile number (E.164 preferred).")]
DobOpt = Annotated[str | None, typer.Option("--dob", help="Date of birth, YYYY-MM-DD.")]
ExtOpt = Annotated[str | None, typer.Option("--external-id", help="Id in another system.")]
ClinicianOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--clinician",
        help="A clinician (email or id) the client is assigned to, who may then see them; "
        "repeat for several.",
    ),
]

LanguageOpt = Annotated[
    str | None,
    typer.Option(
        "--language",
        help="The language of the client's join page and messages: en or es "
        "(update: '' clears it; the browser's language is used then).",
    ),
]


def _one(out: Output, found: Client) -> None:
    if out.as_json:
        out.json(found)
    else:
        client_fields(out, found)


@app.command("add")
def add(
    ctx: typer.Context,
    name: Annotated[str, typer.Option("--name", help="Full name.")],
    email: EmailOpt = None,
    phone: PhoneOpt = None,
    dob: DobOpt = None,
    external_id: ExtOpt = None,
    clinician: ClinicianOpt = None,
    language: LanguageOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Add a client (a clinician sees the clients assigned to them and those with an
    appointment of theirs in the last 12 months or to come)."""
    output(ctx, json_)

    async def body(client: TlhClient, out: Output) -> None:
        made = await client.clients.add(
            name,
            dob=dob,
            email=email,
            phone=phone,
            external_id=external_id,
            clinicians=clinician,
            language=language,
        )
        if out.as_json:
            out.json(made)
        else:
            out.line(made.id)
            out.note(f"added client {made.id}")

    run(ctx, body)


@app.command("list")
def list_(
    ctx: typer.Context,
    search: Annotated[
        str | None, typer.Option("--search", help="Name, email, phone or external id to find.")
    ] = None,
    json_: JsonOpt = False,
) -> None:
    """List clients, or find some (the search text is sent in a request body, not the URL)."""
    output(ctx, json_)

    async def body(client: TlhClient, out: Output) -> None:
        found = await (client.clients.search(search) if search else client.clients.list())
        if out.as_json:
            out.json({"items": found})
        else:
            client_table(out, found)

    run(ctx, body)


@app.command("show")
def show(ctx: typer.Context, id: IdArg, json_: JsonOpt = False) -> None:
    """Show one client with their contacts (recorded in the audit log)."""
    output(ctx, json_)

    async def body(client: TlhClient, out: Output) -> None:
        from tlh.cli.resolve import client_id

        _one(out, await client.clients.get(await client_id(client, out, id)))

    run(ctx, body)


@app.command("update")
def update(
    ctx: typer.Context,
    id: IdArg,
    name: Annotated[str | None, typer.Option("--name", help="Full name.")] = None,
    email: EmailOpt = None,
    phone: PhoneOpt = None,
    dob: DobOpt = None,
    external_id: ExtOpt = None,
    clinician: ClinicianOpt = None,
    no_clinicians: Annotated[
        bool, typer.Option("--no-clinicians", help="Assign the client to no clinician.")
    ] = False,
    language: LanguageOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Change a client's details (``--clinician`` replaces the clinicians they are
    assigned to)."""
    output(ctx, json_)

    async def body(client: TlhClient, out: Output) -> None:
        from tlh.cli.exit import UsageError
        from tlh.cli.resolve import client_id

        if no_clinicians and clinician:
            raise UsageError("--clinician cannot go with --no-clinicians")

        changed = await client.clients.update(
            await client_id(client, out, id),
            name=name,
            email=email,
            phone=phone,
            dob=dob,
            external_id=external_id,
            clinicians=[] if no_clinicians else clinician,
            language=language,
        )
        _one(out, changed)

    run(ctx, body)


@contact_app.command("add")
def contact_add(
    ctx: typer.Context,
    id: IdArg,
    name: Annotated[str, typer.Option("--name", help="The contact's full name.")],
    relationship: Annotated[
        str | None, typer.Option("--relationship", help="e.g. parent, guardian, partner.")
    ] = None,
    email: EmailOpt = None,
    phone: PhoneOpt = None,
    reminders: Annotated[
        str | None, typer.Option("--reminders", help="Reminders this contact gets: email,sms.")
    ] = None,
    portal: Annotated[
        bool,
        typer.Option("--portal", help="May sign in to the client portal and act for the client."),
    ] = False,
    json_: JsonOpt = False,
) -> None:
    """Add a contact (caregiver) to a client."""
    output(ctx, json_)
    wanted = (
        [r.strip() for r in reminders.split(",") if r.strip()] if reminders is not None else None
    )

    async def body(client: TlhClient, out: Output) -> None:
        from tlh.cli.resolve import client_id

        changed = await client.clients.add_contact(
            await client_id(client, out, id),
            name,
            relationship=relationship,
            email=email,
            phone=phone,
            reminders=wanted,
            portal=portal,
        )
        _one(out, changed)

    run(ctx, body)
