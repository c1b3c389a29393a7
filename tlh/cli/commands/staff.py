"""``tlh staff``: people who use tlh (admins, schedulers, clinicians)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from tlh.cli.output import Output, clean
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
    st = output(ctx, json_)

    async def body(client: TlhClient, out: Output) -> None:
        made = await client.staff.add(email, name, role, telehealth, also_clinician)
        _show_token(out, made, f"added {made.staff.id}")
        url = st.connection()[0]
        out.note(f"they sign in on their own machine: tlh login --url {url} --token <the token>")

    run(ctx, body)


@app.command("invite")
def invite(
    ctx: typer.Context,
    email: Annotated[str, typer.Argument(help="The staff member's login email.")],
    name: Annotated[
        str | None, typer.Option("--name", help="Full name (needed when they are new).")
    ] = None,
    role: Annotated[
        str, typer.Option("--role", help="admin, scheduler or clinician (when new).")
    ] = "clinician",
    telehealth: Annotated[
        bool, typer.Option("--telehealth", help="Allow telehealth sessions (when new).")
    ] = False,
    url: Annotated[
        str | None,
        typer.Option(
            "--url",
            help="The server's address as their machine reaches it (default: the one this"
            " CLI uses).",
        ),
    ] = None,
    json_: JsonOpt = False,
) -> None:
    """Print the one line a staff member runs on their own machine to sign in: adds them
    if new, else issues a new token (their old tokens stop working)."""
    st = output(ctx, json_)

    async def body(client: TlhClient, out: Output) -> None:
        from tlh.errors import NotFound

        try:
            await client.staff.get(email)
        except NotFound:
            if not name:
                from tlh.cli.exit import UsageError

                raise UsageError(f"{email.strip()} is new: give their --name") from None
            made = await client.staff.add(email, name, role, telehealth)
            what = "added"
        else:
            made = await client.staff.new_token(email)
            what = "new token: their earlier ones no longer work"
        where = url or st.connection()[0]
        line = login_line(where, made.token)
        if out.as_json:
            out.json({"staff": made.staff, "token": made.token, "login": line})
        else:
            out.line(line)
        out.warn(
            f"{clean(made.staff.name)} ({what}): give them this line privately, once; they"
            " run it where tlh is installed, then `tlh dashboard`"
        )
        if is_loopback_url(where):
            out.warn(
                f"{where} works only on this machine: pass --url with the address"
                " their machine reaches (the server's public URL)"
            )

    run(ctx, body)


def login_line(url: str, token: str) -> str:
    """The command that saves ``url`` and ``token`` on another machine (shell-quoted)."""
    import shlex

    return f"tlh login --url {shlex.quote(url)} --token {shlex.quote(token)}"


def is_loopback_url(url: str) -> bool:
    """Whether ``url`` points at this machine only."""
    from urllib.parse import urlsplit

    from tlh.net import is_loopback

    return is_loopback(urlsplit(url).hostname or "")


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
