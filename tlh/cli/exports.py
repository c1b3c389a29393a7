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


def deliver(out: Output, dest: Path | None, data: bytes, fmt: str) -> None:
    """``data`` (in format ``fmt``) to stdout when no ``--output`` was given, else to that
    file; with ``--json`` a file's name and size are the JSON printed."""
    if dest is None:
        out.raw(data)
        return
    write_file(dest, data)
    if out.as_json:
        out.json({"file": str(dest), "bytes": len(data), "format": fmt})
    else:
        out.note(f"wrote {len(data)} bytes to {dest}")


def export_format(out: Output, given: str | None, formats: tuple[str, ...]) -> str:
    """The format an export is written in: ``--format`` if given, else JSON under
    ``--json`` and the first of ``formats`` otherwise. A format that is not JSON with
    ``--json`` is a usage error: the two ask for different things."""
    from tlh.cli.exit import UsageError

    if given is not None and given not in formats:
        raise UsageError(f"--format must be {', '.join(formats[:-1])} or {formats[-1]}")
    if out.as_json:
        if given not in (None, "json"):
            raise UsageError(f"--json prints JSON: leave out --format {given}, or --json")
        return "json"
    return given or formats[0]
