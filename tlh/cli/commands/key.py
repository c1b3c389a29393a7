"""``tlh key``: the encrypted practice's keys (rotate, recovery code). Work on a stopped
server's data dir, like ``tlh restore``, or on the keyring in the database its tlh.toml
names (servers may run meanwhile): the store is imported lazily, inside the commands (an
import-linter exception, as for ``tlh.cli.commands.local``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tlh.cli.commands.local import (
    DataDirOpt,
    KeyFileOpt,
    StoreOpt,
    _data_dir,
    _new_passphrase,
    key_source,
    practice_location,
)
from tlh.cli.state import handled, state

app = typer.Typer(help="The data dir's keys: rotate them, print a recovery code.")


@app.command("rotate")
def rotate(
    ctx: typer.Context,
    data_dir: DataDirOpt = None,
    key_file: KeyFileOpt = None,
    reencrypt: Annotated[
        bool,
        typer.Option(
            "--reencrypt",
            help="Also make a new data key and seal every file again under it (for a key"
            " that may have leaked); a recovery code must then be exported again.",
        ),
    ] = False,
    new_key_file: Annotated[
        Path | None,
        typer.Option(
            "--new-key-file", help="Write the new key file here (default: replace the one used)."
        ),
    ] = None,
    new_passphrase: Annotated[
        bool,
        typer.Option(
            "--new-passphrase",
            help="Lock the key with a new passphrase (TLH_NEW_PASSPHRASE, else asked).",
        ),
    ] = False,
    store: StoreOpt = None,
) -> None:
    """Replace the key that unlocks a stopped server's data dir (safe to interrupt: the
    dir opens with the old key or the new one, and running it again finishes)."""
    out = state(ctx).out
    with handled(out):
        from tlh.store.open import rotate_keys_at

        where = _data_dir(data_dir)
        secret = _new_passphrase("TLH_NEW_PASSPHRASE") if new_passphrase else None
        location = practice_location(where, store)
        done = rotate_keys_at(
            location,
            key_source(key_file),
            reencrypt=reencrypt,
            new_key_file=new_key_file,
            new_passphrase=secret,
        )
        if out.as_json:
            out.json(
                {
                    "data_dir": str(where),
                    "key_file": str(done.key_file) if done.key_file else None,
                    "passphrase": done.passphrase,
                    "reencrypted_files": done.reencrypted,
                    "dropped": done.dropped,
                }
            )
            return
        if done.key_file is not None:
            out.note(f"new key file: {done.key_file} (the old one no longer opens {where})")
        if done.passphrase:
            out.note("the new passphrase now opens the data dir; the old one no longer does")
        if reencrypt:
            what = "records" if isinstance(location, str) else "files"
            out.note(f"sealed {done.reencrypted} {what} again under a new data key")
        if done.dropped:
            out.warn(
                f"no longer open the dir: {', '.join(done.dropped)}"
                " (run `tlh key export-recovery` for a new recovery code)"
            )
        out.note("backups made before this open with the key of their time: keep it with them")


@app.command("export-recovery")
def export_recovery(
    ctx: typer.Context,
    data_dir: DataDirOpt = None,
    key_file: KeyFileOpt = None,
    store: StoreOpt = None,
) -> None:
    """Print a recovery code, once, for the practice's safe: with TLH_PASSPHRASE set to
    it, `tlh serve`, `tlh restore` and `tlh key rotate` open the dir without the key file.
    An earlier code stops working."""
    out = state(ctx).out
    with handled(out):
        from tlh.store.open import export_recovery_at

        where = _data_dir(data_dir)
        code = export_recovery_at(practice_location(where, store), key_source(key_file))
        if out.as_json:
            out.json({"data_dir": str(where), "recovery_code": code})
        else:
            out.line(code)
        out.warn(
            "this recovery code opens the data dir and its backups: write it down, keep it"
            " in the practice's safe, not beside the data; it is not shown again"
        )
