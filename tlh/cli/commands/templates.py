"""``tlh templates``: the practice's own copy of the message templates.

The templates shipped in the package are their one source; ``export`` starts a copy the
practice edits and names in ``tlh.toml`` (``[messaging] templates_dir``), where the
server checks every file when it starts. Needs no server.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tlh.cli.state import JsonOpt, handled, output

app = typer.Typer(
    help="The message templates: start your own copy to change the wording.",
    no_args_is_help=True,
)

#: Templates hold wording, not patients' data: readable by the server's own user.
_MODE = 0o644


@app.command("export")
def export(
    ctx: typer.Context,
    directory: Annotated[Path, typer.Argument(help="Folder to copy the templates into.")],
    force: Annotated[
        bool, typer.Option("--force", help="Overwrite templates already in the folder.")
    ] = False,
    json_: JsonOpt = False,
) -> None:
    """Copy the shipped message templates into DIRECTORY (created if missing) to edit."""
    out = output(ctx, json_).out
    with handled(out):
        import json

        from tlh.cli.exports import write_file
        from tlh.errors import Conflict, InvalidInput
        from tlh.messaging.templates import default_templates_dir, template_names

        source = default_templates_dir()
        names = [*template_names(), "README.md"]
        present = [name for name in names if (directory / name).exists()]
        if present and not force:
            more = f" and {len(present) - 1} more" if len(present) > 1 else ""
            raise Conflict(
                f"{directory / present[0]}{more} already exist: pass --force to overwrite them"
            )
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InvalidInput(f"cannot create {directory}: {exc.strerror or exc}") from None
        for name in names:
            (directory / name).parent.mkdir(exist_ok=True)  # a language's subfolder (es/)
            write_file(directory / name, (source / name).read_bytes(), mode=_MODE)
        if out.as_json:
            out.json({"dir": str(directory), "files": names})
        else:
            for name in names:
                out.line(str(directory / name))
        out.note(
            f"edit them, then set templates_dir = {json.dumps(str(directory.resolve()))} under "
            "[messaging] in tlh.toml; the server checks them when it starts"
        )
