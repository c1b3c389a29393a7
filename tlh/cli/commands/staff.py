"""``tlh staff``: people who use tlh (admins, schedulers, clinicians)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from tlh.cli.output import Output
from tlh.cli.render import staff_table
from tlh.cli.state import JsonOpt, output, run

if TYPE_CHECKING:
    from tlh.api.staff import NewToken
    from tlh.client import TlhClient

app = typer.Typer(
    help="Add, list and change staff members and their API tokens.", no_args_is_help=True
)

RefArg = Annotated[str, typer.Argument(help="Staff id or email.")]


def _show_token(out: Output, made: NewToken, what: str) -> None:
    """Print a new token once: the token on stdout, the advice on stderr."""
    if out.as_json:
        out.json(made)
    else:
        out.line(made.token)
    out.warn(f"{what}; store this token now, it is shown only once")


@app.command("add")
def add(
    ctx: typer.Context,
    email: Annotated[str, typer.Argument(help="Login email of the new staff member.")],
    name: Annotated[str, typer.Option("--name", help="Full name.")],
    role: Annotated[str, typer.Option("--role", help="admin, scheduler or clinician.")],
    telehealth: Annotated[
        bool, typer.Option("--telehealth", help="Allow this clinician to run telehealth sessions.")
    ] = False,
    also_clinician: Annotated[
        bool,
        typer.Option(
            "--also-clinician",
            help="An admin or scheduler who sees clients too (a solo practitioner).",
        ),
    ] = False,
    json_: JsonOpt = False,
) -> None:
    """Add a staff member and print their first API token (once)."""
    output(ctx, json_)

    async def body(client: TlhClient, out: Output) -> None:
        made = await client.staff.add(email, name, role, telehealth, also_clinician)
        _show_token(out, made, f"added {made.staff.id}")

    run(ctx, body)


@app.command("list")
def list_(ctx: typer.Context, json_: JsonOpt = False) -> None:
    """List staff members."""
    output(ctx, json_)

    async def body(client: TlhClient, out: Output) -> None:
        found = await client.staff.list()
        if out.as_json:
            out.json({"items": found})
        else:
            staff_table(out, found)

    run(ctx, body)


@app.command("show")
def show(ctx: typer.Context, ref: RefArg, json_: JsonOpt = False) -> None:
    """Show one staff member."""
    output(ctx, json_)

    async def body(client: TlhClient, out: Output) -> None:
        member = await client.staff.get(ref)
        if out.as_json:
            out.json(member)
        else:
            staff_table(out, [member])

    run(ctx, body)


@app.command("update")
def update(
    ctx: typer.Context,
    ref: RefArg,
    name: Annotated[str | None, typer.Option("--name", help="New full name.")] = None,
    role: Annotated[
        str | None, typer.Option("--role", help="admin, scheduler or clinician.")
    ] = None,
    telehealth: Annotated[
        bool | None,
        typer.Option("--telehealth/--no-telehealth", help="Allow or forbid telehealth sessions."),
    ] = None,
    waiting_room: Annotated[
        bool | None,
        typer.Option("--waiting-room/--no-waiting-room", help="Use a waiting room or not."),
    ] = None,
    also_clinician: Annotated[
        bool | None,
        typer.Option(
            "--also-clinician/--not-clinician",
            help="An admin or scheduler who sees clients too (a solo practitioner), or not.",
        ),
    ] = None,
    json_: JsonOpt = False,
) -> None:
    """Change a staff member's name, role, telehealth, waiting room or whether they also
    see clients."""
    output(ctx, json_)

    async def body(client: TlhClient, out: Output) -> None:
        member = await client.staff.update(
            ref,
            name=name,
            role=role,
            telehealth=telehealth,
            waiting_room=waiting_room,
            also_clinician=also_clinician,
        )
        if out.as_json:
            out.json(member)
        else:
            staff_table(out, [member])

    run(ctx, body)


@app.command("token")
def token(ctx: typer.Context, ref: RefArg, json_: JsonOpt = False) -> None:
    """Issue a new API token (revokes the old ones) and print it once."""
    output(ctx, json_)

    async def body(client: TlhClient, out: Output) -> None:
        made = await client.staff.new_token(ref)
        _show_token(out, made, f"new token for {made.staff.id}; old tokens revoked")

    run(ctx, body)


@app.command("disable")
def disable(ctx: typer.Context, ref: RefArg, json_: JsonOpt = False) -> None:
    """Disable a staff member and revoke their tokens."""
    output(ctx, json_)

    async def body(client: TlhClient, out: Output) -> None:
        member = await client.staff.disable(ref)
        if out.as_json:
            out.json(member)
        else:
            out.note(f"disabled {member.id}")

    run(ctx, body)
