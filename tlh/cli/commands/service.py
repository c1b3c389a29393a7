"""``tlh service install``: run ``tlh serve`` as a hardened systemd service.

Writes the unit (``tlh.cli.service_unit``), creates the dedicated user if it is missing
and gives it the data dir; prints what to run next rather than starting anything. Needs
no server; reads the data dir's ``tlh.toml`` for the port and the TLS files.
"""

from __future__ import annotations

import os
import sys
import tomllib
from pathlib import Path
from typing import Annotated

import typer

from tlh.cli.state import JsonOpt, handled, output
from tlh.errors import Conflict, InvalidInput

app = typer.Typer(help="Run tlh serve as a systemd service.", no_args_is_help=True)

#: The credential names the TLS files are handed over as.
TLS_CERT, TLS_KEY = "tls-cert", "tls-key"


def _server_table(data_dir: Path) -> dict[str, object]:
    path = data_dir / "tlh.toml"
    if not path.exists():
        return {}
    try:
        doc = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise InvalidInput(f"{path}: cannot read it ({exc})") from None
    table = doc.get("server", {})
    return table if isinstance(table, dict) else {}


@app.command("install")
def install(
    ctx: typer.Context,
    user: Annotated[
        str, typer.Option("--user", help="The service's own user (created if missing).")
    ] = "tlh",
    data_dir: Annotated[
        Path | None,
        typer.Option(
            "--data-dir", help="Data directory (default: TLH_DATA_DIR or the user data dir)."
        ),
    ] = None,
    credentials: Annotated[
        list[str] | None,
        typer.Option(
            "--credential",
            help="NAME=PATH: a secret file handed to the service as a systemd credential"
            " (repeat it). The TLS cert and key in tlh.toml are handed over this way.",
        ),
    ] = None,
    unit_dir: Annotated[Path, typer.Option("--unit-dir", help="Where the unit is written.")] = Path(
        "/etc/systemd/system"
    ),
    name: Annotated[str, typer.Option("--name", help="The unit's name.")] = "tlh",
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the unit; write and change nothing.")
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Replace a unit that was edited (kept as .bak).")
    ] = False,
    json_: JsonOpt = False,
) -> None:
    """Write a hardened systemd unit for tlh serve on the data dir."""
    out = output(ctx, json_).out
    with handled(out):
        from tlh.cli.service_unit import UnitSpec, credential, render
        from tlh.paths import default_data_dir

        where = (data_dir or default_data_dir()).absolute()
        if not (where / "meta.json").is_file():
            raise InvalidInput(f"{where} holds no practice: run `tlh init` first")
        server = _server_table(where)
        given = dict(credential(c) for c in credentials or [])
        cert, key = server.get("cert"), server.get("key")
        tls = isinstance(cert, str) and isinstance(key, str)
        if tls:
            given[TLS_CERT], given[TLS_KEY] = Path(str(cert)), Path(str(key))
        port = server.get("port", 8765)
        spec = UnitSpec(
            command=(sys.executable, "-m", "tlh"),
            data_dir=where,
            user=user,
            port=port if isinstance(port, int) else 8765,
            credentials=given,
            cert=TLS_CERT if tls else None,
            key=TLS_KEY if tls else None,
        )
        text = render(spec)
        path = unit_dir / f"{name}.service"
        if dry_run:
            out.line(text.rstrip("\n"))
            return
        state = _write(path, text, force)
        made_user = _ensure_user(user, where)
        steps = [
            f"systemctl daemon-reload && systemctl enable --now {name}",
            f"journalctl -u {name} -f",
        ]
        if out.as_json:
            out.json(
                {
                    "unit": str(path),
                    "state": state,
                    "user": user,
                    "user_created": made_user,
                    "next": steps,
                }
            )
            return
        out.note(
            f"{path}: {state}; the service runs as {user}" + (" (created)" if made_user else "")
        )
        for step in steps:
            out.note(f"then: {step}")


def _write(path: Path, text: str, force: bool) -> str:
    """Write the unit; one tlh wrote is replaced, one someone edited only with ``force``."""
    from tlh.cli.exports import write_file
    from tlh.cli.service_unit import edited

    if path.exists():
        existing = path.read_text()
        if existing == text:
            return "unchanged"
        if edited(existing) and not force:
            raise Conflict(
                f"{path} was edited since tlh wrote it: put your changes in a drop-in"
                f" (systemctl edit {path.stem}), or pass --force to replace it (kept as .bak)"
            )
        path.with_name(path.name + ".bak").write_text(existing)
        write_file(path, text.encode(), mode=0o644)
        return "replaced"
    write_file(path, text.encode(), mode=0o644)
    return "written"


def _ensure_user(user: str, data_dir: Path) -> bool:
    """Create the system user if missing (root only), and give it the data dir."""
    import pwd
    import subprocess

    created = False
    found = [e for e in pwd.getpwall() if e.pw_name == user]
    if not found:
        if os.geteuid() != 0:
            raise InvalidInput(f"there is no user {user}: run as root to create it, or give --user")
        made = subprocess.run(
            ["useradd", "--system", "--user-group", "--home-dir", str(data_dir),
             "--no-create-home", "--shell", "/usr/sbin/nologin", user],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if made.returncode != 0:
            said = made.stderr.strip().splitlines()[-1:] or ["failed"]
            raise InvalidInput(f"cannot create the user {user}: {said[0]}")
        created = True
    entry = pwd.getpwnam(user)
    if os.geteuid() == 0:
        for folder, _dirs, files in os.walk(data_dir):
            for item in [folder, *(os.path.join(folder, f) for f in files)]:
                os.chown(item, entry.pw_uid, entry.pw_gid, follow_symlinks=False)
    return created
