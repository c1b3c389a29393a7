"""``tlh consent``: request, record, check, withdraw and export telehealth consent."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from tlh.cli.output import Output
from tlh.cli.state import JsonOpt, output, run

from .invite import pick_channel, usage

if TYPE_CHECKING:
    from tlh.client import TlhClient
    from tlh.domain.consent import ConsentRecord

app = typer.Typer(
    help="Send the consent form, record verbal consent, check and export the ledger.",
    no_args_is_help=True,
)

ClientArg = Annotated[
    str, typer.Argument(help="The client: id (cli_...), email, external id or full name.")
]


def _record(client: TlhClient, out: Output, record: ConsentRecord, what: str) -> None:
    if out.as_json:
        out.raw(client.last_body + b"\n")
    else:
        out.line(record.id)
        out.note(f"{what} for client {record.client_id}")


@app.command("send")
def send(
    ctx: typer.Context,
    client_id: ClientArg,
    email: Annotated[bool, typer.Option("--email", help="Send by email (the default).")] = False,
    sms: Annotated[bool, typer.Option("--sms", help="Send by text message.")] = False,
    to: Annotated[
        str | None,
        typer.Option("--to", help="Address to use; a missing one is added to the record."),
    ] = None,
    json_: JsonOpt = False,
) -> None:
    """Send the client a link to read and sign the consent form."""
    output(ctx, json_)
    channel = pick_channel(ctx, email=email, sms=sms) or "email"

    async def body(client: TlhClient, out: Output) -> None:
        from tlh.cli.resolve import client_id as resolve

        who = await resolve(client, out, client_id)
        sent = await client.consents.send(who, channel, to=to)
        if out.as_json:
            out.raw(client.last_body + b"\n")
        else:
            out.line(sent.message.id)
            out.note(f"consent form queued by {channel} for client {who}")

    run(ctx, body)


@app.command("record-verbal")
def record_verbal(
    ctx: typer.Context,
    client_id: ClientArg,
    note: Annotated[str, typer.Option("--note", help="Your attestation: when and how.")],
    by: Annotated[
        str | None,
        typer.Option(
            "--by",
            help="Optional check: the email you attest as; refused unless it is who is"
            " logged in (you are the attester).",
        ),
    ] = None,
    json_: JsonOpt = False,
) -> None:
    """Record consent given by voice; you, the logged-in clinician, attest to it."""
    output(ctx, json_)
    if not note.strip():
        raise usage(ctx, "--note must say how the consent was given")

    async def body(client: TlhClient, out: Output) -> None:
        from tlh.cli.resolve import client_id as resolve
        from tlh.errors import Forbidden

        # The server records the caller as the attester; --by, when given, guards against
        # attesting in someone else's name with the wrong token.
        if by is not None:
            me = await client.staff.me()
            if me.email.casefold() != by.strip().casefold():
                raise Forbidden(
                    f"you are logged in as {me.email}, not {by.strip()}: "
                    "log in as the clinician who took the consent"
                )
        record = await client.consents.verbal(await resolve(client, out, client_id), note)
        _record(client, out, record, "verbal consent recorded")

    run(ctx, body)


@app.command("status")
def status(
    ctx: typer.Context,
    client_id: Annotated[
        str | None,
        typer.Argument(help="The client (id, email, external id or name); default every client."),
    ] = None,
    json_: JsonOpt = False,
) -> None:
    """Show consent state per client: none, sent, valid, declined, revoked, expired..."""
    output(ctx, json_)

    async def body(client: TlhClient, out: Output) -> None:
        from tlh.cli.names import Names
        from tlh.cli.render import consent_table
        from tlh.cli.resolve import client_id as resolve

        who = None if client_id is None else await resolve(client, out, client_id)
        found = await client.consents.list(who)
        if out.as_json:
            out.raw(client.last_body + b"\n")
            return
        consent_table(out, found, await Names(client).load(c.client_id for c in found))

    run(ctx, body)


@app.command("revoke")
def revoke(
    ctx: typer.Context,
    client_id: ClientArg,
    note: Annotated[
        str | None, typer.Option("--note", help="Why, or how the client withdrew it.")
    ] = None,
    json_: JsonOpt = False,
) -> None:
    """Record that the client withdrew their telehealth consent."""
    output(ctx, json_)

    async def body(client: TlhClient, out: Output) -> None:
        from tlh.cli.resolve import client_id as resolve

        record = await client.consents.revoke(await resolve(client, out, client_id), note)
        _record(client, out, record, "consent revoked")

    run(ctx, body)


@app.command("export")
def export(
    ctx: typer.Context,
    fmt: Annotated[str | None, typer.Option("--format", help="csv (default) or json.")] = None,
    dest: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to this file (default stdout).")
    ] = None,
) -> None:
    """Export the consent ledger (admin; signature images are left out of CSV; JSON with
    --json)."""

    async def body(client: TlhClient, out: Output) -> None:
        from tlh.cli.exports import deliver, export_format

        chosen = export_format(out, fmt, ("csv", "json"))
        deliver(out, dest, await client.consents.export(chosen), chosen)

    run(ctx, body)
