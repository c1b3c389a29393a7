"""The root command group: what every ``tlh`` command shares without each one saying so.

- ``--json`` is accepted after any command (``tlh appt list --json``) as well as before
  it (``tlh --json appt list``): commands that do not declare it get it here, so no
  command can be left out;
- ``--show-completion [SHELL]`` and ``--install-completion [SHELL]`` take the shell's
  name (Typer's own flags only detect it: ``--show-completion zsh`` printed the bash
  script); without a name they detect it as before.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from typer.core import TyperGroup

#: What the completion scripts set to ask ``tlh`` for completions (Typer's naming).
COMPLETE_VAR = "_TLH_COMPLETE"
#: The shells Typer writes completion scripts for.
SHELLS = ("bash", "zsh", "fish", "powershell", "pwsh")
#: Typer's own completion flags (the root's options below replace them).
TYPER_COMPLETION = frozenset({"install_completion", "show_completion"})
#: Options whose shell may be left out: "detect it" is passed in its place.
SHELL_OPTIONS = ("--show-completion", "--install-completion")
DETECT = "detect"


def _json_on(ctx: typer.Context, value: bool) -> bool:
    """``--json`` after a command: the same switch as the global option."""
    if value and not ctx.resilient_parsing:
        from .state import state

        state(ctx).out.as_json = True
    return value


def json_param() -> Any:
    """A ``--json`` option (built by Typer itself, from a one-command app)."""
    probe = typer.Typer(add_completion=False)

    @probe.command()
    def holder(
        as_json: Annotated[
            bool,
            typer.Option(
                "--json",
                callback=_json_on,
                expose_value=False,
                help="Print the API's JSON instead of tables (as `tlh --json ...`).",
            ),
        ] = False,
    ) -> None:
        """Only carries the option."""

    return typer.main.get_command(probe).params[0]


def give_json(command: Any, param: Any) -> None:
    """Add ``param`` (``--json``) to ``command``, or to every command under a group,
    where it has no ``--json`` of its own."""
    subs = getattr(command, "commands", None)
    if isinstance(subs, dict):
        for sub in subs.values():
            give_json(sub, param)
        return
    if not any("--json" in getattr(p, "opts", ()) for p in command.params):
        command.params.append(param)


def shell_of(value: str) -> str:
    """The shell asked for, else the one ``tlh`` runs under (bash when unknown)."""
    if value != DETECT:
        if value not in SHELLS:
            raise typer.BadParameter(f"choose one of {', '.join(SHELLS)}")
        return value
    from typer._completion_shared import _get_shell_name

    return _get_shell_name() or "bash"


def show_completion(ctx: typer.Context, value: str | None) -> None:
    """Print the completion script of a shell and stop."""
    if value is None or ctx.resilient_parsing:
        return
    from typer._completion_shared import get_completion_script

    from .output import Output

    shell = shell_of(value)
    Output().line(get_completion_script(prog_name="tlh", complete_var=COMPLETE_VAR, shell=shell))
    raise typer.Exit()


def install_completion(ctx: typer.Context, value: str | None) -> None:
    """Install the completion script for a shell and stop."""
    if value is None or ctx.resilient_parsing:
        return
    from typer._completion_shared import install

    from .output import Output

    shell, path = install(shell=shell_of(value), prog_name="tlh", complete_var=COMPLETE_VAR)
    Output().note(f"{shell} completion installed in {path}; it works in new terminals")
    raise typer.Exit()


class TlhGroup(TyperGroup):
    """The ``tlh`` group: ``--json`` on every command, completion for a named shell."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Typer builds every sub-group and command before the root: all are here now.
        param = json_param()
        for command in self.commands.values():
            give_json(command, param)

    def get_params(self, ctx: Any) -> list[Any]:
        """The root's own options, without Typer's detect-only completion flags."""
        return [p for p in super().get_params(ctx) if p.name not in TYPER_COMPLETION]

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        """``--show-completion`` with no shell after it means: detect the shell."""
        args = list(args)
        for n, arg in enumerate(args):
            if arg in SHELL_OPTIONS and (n + 1 == len(args) or args[n + 1].startswith("-")):
                args.insert(n + 1, DETECT)
                break
        return super().parse_args(ctx, args)
