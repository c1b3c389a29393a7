"""Where exports and backups land: stdout, or a file written once, atomically, privately.

Exports and backups hold patients' data, so files are written 0600 through the one
atomic writer, and a file that cannot be written is one line naming it, not a traceback.
"""

from __future__ import annotations

from pathlib import Path

from tlh.cli.output import Output


def write_file(dest: Path, data: bytes, *, mode: int = 0o600) -> None:
    """Replace ``dest`` with ``data`` (mode 0600 unless told: most exports hold patients'
    data); ``InvalidInput`` if it cannot be written."""
    from tlh.errors import InvalidInput
    from tlh.files import write_atomic

    try:
        write_atomic(dest, data, mode=mode)
    except OSError as exc:
        raise InvalidInput(f"cannot write {dest}: {exc.strerror or exc}") from None


def deliver(out: Output, dest: Path | None, data: bytes) -> None:
    """``data`` to stdout when no ``--output`` was given, else to that file."""
    if dest is None:
        out.raw(data)
        return
    write_file(dest, data)
    out.note(f"wrote {len(data)} bytes to {dest}")
