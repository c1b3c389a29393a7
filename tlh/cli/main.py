"""The ``tlh`` command: this file only composes the sub-apps and handles the exit.

Import cost matters (``tlh --help`` within 150 ms): the command modules import only
typer at load time, and the client, rich and the server inside the commands.
"""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

from .commands import (
    admin,
    appt,
    audit,
    availability,
    cert,
    client,
    consent,
    dashboard,
    doctor,
    invite,
    key,
    link,
    local,
    media,
    outbox,
    portal,
    practice,
    report,
    reschedule,
    room,
    service,
    session,
    slots,
    staff,
    store,
    templates,
    turn,
)
from .exit import ExitStatus, exit_codes_help
from .group import TlhGroup, install_completion, show_completion
from .output import Output
from .state import CliState

app = typer.Typer(
    cls=TlhGroup,
    name="tlh",
    help=(
        "Self-hosted telehealth for therapy practices: scheduling, staff, clients,"
        " invitations, consent, audit."
    ),
    epilog=exit_codes_help(),
    no_args_is_help=True,
    # Plain click help: Typer's rich help formatting costs ~100 ms of imports per call.
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        from tlh import __version__

        Output().line(f"tlh {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    url: Annotated[
        str | None,
        typer.Option("--url", envvar="TLH_URL", help="Server URL (else the config file)."),
    ] = None,
    token: Annotated[
        str | None,
        typer.Option(
            "--token",
            envvar="TLH_TOKEN",
            help="API token (else the config file).",
            show_default=False,
        ),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the API's JSON instead of tables.")
    ] = False,
    timeout: Annotated[
        float, typer.Option("--timeout", help="Seconds to wait for the network at each step.")
    ] = 30.0,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print tlh's version and exit."
        ),
    ] = False,
    completion_script: Annotated[
        str | None,
        typer.Option(
            "--show-completion",
            metavar="[SHELL]",
            callback=show_completion,
            is_eager=True,
            expose_value=False,
            help="Print the completion script for SHELL (bash, zsh, fish, powershell;"
            " default: the shell you run), to copy it or customise the installation.",
        ),
    ] = None,
    completion_install: Annotated[
        str | None,
        typer.Option(
            "--install-completion",
            metavar="[SHELL]",
            callback=install_completion,
            is_eager=True,
            expose_value=False,
            help="Install completion for SHELL (default: the shell you run).",
        ),
    ] = None,
) -> None:
    """Global options; the server is found through --url/--token, TLH_URL/TLH_TOKEN or the config."""
    ctx.obj = CliState(url=url, token=token, out=Output(as_json), timeout=timeout)


app.add_typer(practice.app, name="practice")
app.add_typer(staff.app, name="staff")
app.add_typer(client.app, name="client")
app.add_typer(appt.app, name="appt")
app.add_typer(availability.app, name="availability")
app.add_typer(audit.app, name="audit")
app.add_typer(invite.app, name="invite")
app.add_typer(link.app, name="link")
app.add_typer(consent.app, name="consent")
app.add_typer(outbox.app, name="outbox")
app.add_typer(report.app, name="report")
app.add_typer(room.app, name="room")
app.add_typer(session.app, name="session")
app.add_typer(media.app, name="media")
app.add_typer(templates.app, name="templates")
app.add_typer(turn.app, name="turn")
app.add_typer(cert.app, name="cert")
app.add_typer(service.app, name="service")
app.add_typer(key.app, name="key")
app.add_typer(portal.app, name="portal")
app.add_typer(reschedule.app, name="reschedule")
app.add_typer(store.app, name="store")
app.command("dashboard")(dashboard.dashboard)
app.command("slots")(slots.slots)
app.command("doctor")(doctor.doctor)
app.command("login")(admin.login)
app.command("backup")(admin.backup)
app.command("init")(local.init)
app.command("serve")(local.serve)
app.command("demo")(local.demo)
app.command("restore")(local.restore)


def _interruptible() -> None:
    """Ctrl-C (SIGINT) stops a command even when the shell started it in the background
    of a script: such a shell hands its background jobs SIGINT ignored, and then neither
    Ctrl-C nor ``kill -INT`` (nor the demo's SIGTERM, turned into one) would stop it."""
    import signal

    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def main(argv: list[str] | None = None) -> None:
    """Console entry point: run the app; expected errors become one line and an exit code.

    Typer's standalone mode already turns usage errors into exit 2, ``--help`` into 0
    and Ctrl-C into 130; errors the commands did not handle themselves land here.
    """
    from tlh.errors import TlhError

    from .exit import exit_status_for

    _interruptible()
    try:
        app(args=argv, prog_name="tlh")
    except TlhError as exc:
        if os.environ.get("TLH_DEBUG", "") not in ("", "0"):
            raise
        Output().error(exc.message)
        sys.exit(int(exit_status_for(exc)))
    except KeyboardInterrupt:
        Output().error("interrupted")
        sys.exit(int(ExitStatus.INTERRUPTED))
