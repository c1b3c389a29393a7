"""``tlh portal``: who may sign in to the client portal (issue 13): invite, list, revoke."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from tlh.cli.output import Output
from tlh.cli.state import JsonOpt, output, run

if TYPE_CHECKING:
    from tlh.client import TlhClient

app = typer.Typer(
    help="Invite clients and caregivers to the client portal, list and revoke access.",
    no_args_is_help=True,
)

ClientArg = Annotated[
    str, typer.Argument(help="The client: id (cl_...), external id, email or name.")
]
ContactOpt = Annotated[
    str | None,
    typer.Option("--contact", help="A contact (caregiver) of the client, by id (con_...)."),
]


@app.command("invite")
def invite(
    ctx: typer.Context,
    client_ref: ClientArg,
    email: Annotated[bool, typer.Option("--email", help="Send it by email.")] = False,
    sms: Annotated[bool, typer.Option("--sms", help="Send it as a text message.")] = False,
    contact: ContactOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Turn portal access on and send a sign-in invitation (email if on file, else text)."""
    output(ctx, json_)
    if email and sms:
        raise typer.BadParameter("give --email or --sms, not both")
    channel = "email" if email else "sms" if sms else None

    async def body(client: TlhClient, out: Output) -> None:
        from tlh.cli.resolve import client_id

        sent = await client.portal.invite(
            await client_id(client, out, client_ref), contact_id=contact, channel=channel
        )
        if out.as_json:
            out.raw(client.last_body + b"\n")
            return
        out.line(sent.message_id)
        out.note(f"queued a portal invitation by {sent.channel.value} ({sent.message_id})")

    run(ctx, body)


@app.command("list")
def list_(ctx: typer.Context, json_: JsonOpt = False) -> None:
    """Who may sign in to the portal, their last sign-in and open sessions."""
    output(ctx, json_)

    async def body(client: TlhClient, out: Output) -> None:
        found = await client.portal.access()
        if out.as_json:
            out.raw(client.last_body + b"\n")
            return
        rows = [
            (
                a.client_id,
                a.contact_id or "",
                a.name,
                ", ".join(n for n, on in (("email", a.email), ("sms", a.sms)) if on),
                a.last_sign_in.isoformat(timespec="minutes") if a.last_sign_in else "never",
                a.sessions,
            )
            for a in found
        ]
        out.table(("client", "contact", "name", "sign in by", "last sign-in", "sessions"), rows)

    run(ctx, body)


@app.command("revoke")
def revoke(
    ctx: typer.Context, client_ref: ClientArg, contact: ContactOpt = None, json_: JsonOpt = False
) -> None:
    """Turn portal access off (the client's, or one contact's) and end their sessions."""
    output(ctx, json_)

    async def body(client: TlhClient, out: Output) -> None:
        from tlh.cli.resolve import client_id

        done = await client.portal.revoke(
            await client_id(client, out, client_ref), contact_id=contact
        )
        if out.as_json:
            out.raw(client.last_body + b"\n")
            return
        out.note(f"portal access off; {done.sessions_ended} session(s) ended")

    run(ctx, body)
