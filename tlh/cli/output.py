"""The one output sink of every command.

Data goes to stdout: rich tables for people, or with ``--json`` exactly the API's
JSON. Everything else (errors, warnings, hints, progress) goes to stderr. Text that
came from the database is shown literally: never parsed as Rich markup, control
characters escaped, so a client named ``[red]x[/red]`` or ``\\x1b[2J`` cannot
restyle or wipe the terminal.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # rich costs ~80 ms to import; only commands that draw tables pay it
    from rich.console import Console


def clean(value: object) -> str:
    """``value`` as one safe display line: control characters become visible escapes."""
    text = "" if value is None else str(value)
    if text.isprintable():
        return text
    return "".join(
        ch
        if ch.isprintable()
        else (f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"\\u{ord(ch):04x}")
        for ch in text
    )


class Output:
    """Where a command writes; ``as_json`` switches data to the wire format."""

    def __init__(self, as_json: bool = False) -> None:
        self.as_json = as_json

    # -- data (stdout) --------------------------------------------------------

    def json(self, data: Any) -> None:
        """Print ``data`` (structs, dicts, lists) as the API's JSON."""
        import msgspec

        sys.stdout.write(msgspec.json.encode(data).decode() + "\n")
        sys.stdout.flush()

    def raw(self, data: bytes) -> None:
        """Write bytes to stdout unchanged (exports)."""
        sys.stdout.flush()
        buffer = getattr(sys.stdout, "buffer", None)
        if buffer is not None:
            buffer.write(data)
            buffer.flush()
        else:  # a text-only stream (some test runners)
            sys.stdout.write(data.decode("utf-8", "replace"))

    def line(self, text: str) -> None:
        """One line of data for people (already safe: built from cleaned values)."""
        sys.stdout.write(text + "\n")

    def flush(self) -> None:
        """Push what was printed to a pipe now (a reader waits for it)."""
        sys.stdout.flush()

    def table(
        self, columns: Sequence[str], rows: Sequence[Sequence[object]], title: str = ""
    ) -> None:
        """A table for people; every cell is shown literally."""
        from rich.table import Table
        from rich.text import Text

        table = Table(title=Text(clean(title)) if title else None, box=None, header_style="bold")
        for n, name in enumerate(columns):
            # Ids stay whole so they can be copied; other cells fold when space is short.
            table.add_column(name, overflow="fold", no_wrap=n == 0)
        for row in rows:
            table.add_row(*(Text(clean(cell)) for cell in row))
        self._console(sys.stdout).print(table)

    def fields(self, pairs: Sequence[tuple[str, object]]) -> None:
        """A record as ``key  value`` lines, values shown literally."""
        self.table(("field", "value"), [(k, v) for k, v in pairs])

    # -- everything else (stderr) ---------------------------------------------

    def note(self, message: str) -> None:
        """Information for the person at the terminal (not data)."""
        sys.stderr.write(message + "\n")

    def warn(self, message: str) -> None:
        """A warning line."""
        sys.stderr.write(f"warning: {message}\n")

    def error(self, message: str) -> None:
        """The one-line error a failed command ends with."""
        sys.stderr.write(f"error: {clean(message)}\n")
        sys.stderr.flush()

    def bell(self) -> None:
        """Ring the terminal's bell (an arrival)."""
        sys.stderr.write("\a")
        sys.stderr.flush()

    def qr(self, text: str) -> None:
        """``text`` as a QR code on stderr, to scan from a phone (segno, only when asked)."""
        import segno

        segno.make(text, error="l").terminal(out=sys.stderr, compact=True)

    @contextmanager
    def working(self, label: str) -> Iterator[None]:
        """A spinner on stderr while the server works, only when a person is watching."""
        if self.as_json or not sys.stderr.isatty():
            yield
            return
        with self._console(sys.stderr).status(label):
            yield

    @contextmanager
    def progress(
        self, label: str, total: int, *, items: bool = False
    ) -> Iterator[Callable[[int, int], None]]:
        """A progress bar on stderr when it is a terminal; yields ``update(done, total)``
        (bytes, or with ``items`` a count of things: "1200/5000")."""
        if not sys.stderr.isatty() or self.as_json:
            yield lambda done, total: None
            return
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
        )

        amount = MofNCompleteColumn() if items else DownloadColumn()
        bar = Progress(TextColumn(label), BarColumn(), amount, console=self._console(sys.stderr))
        task = bar.add_task(label, total=total)
        with bar:
            yield lambda done, total: bar.update(task, completed=done, total=total)

    @staticmethod
    def _console(file: Any) -> Console:
        from rich.console import Console

        # Piped output is read by scripts and pagers: don't fold it to 80 columns.
        width = None if file.isatty() else 200
        return Console(
            file=file, width=width, highlight=False, markup=False, emoji=False, soft_wrap=False
        )
