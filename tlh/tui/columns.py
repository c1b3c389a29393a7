"""Column widths that keep every row's state on screen, whatever the names.

A DataTable sizes a column to its widest cell: one 60-character name pushed the timer,
the consent and the line state of every row off an 80-column terminal. Here the state
columns have the width their values need, and the columns that hold free text (names,
rooms, devices) share what is left of the terminal by a fixed share, each at least its
minimum; their cells are cut with an ellipsis (the person menu shows a name whole).
Widths depend on the terminal only, never on the rows, so a new arrival never moves a
column.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

#: The table's cell padding (one space each side) and room for its vertical scrollbar.
PADDING = 2
SCROLLBAR = 2


@dataclass(frozen=True)
class Column:
    """One column: its label and key; ``width`` for a state column, else a ``share`` of
    what is left (at least ``least`` cells)."""

    label: str
    key: str
    width: int = 0
    share: int = 0
    least: int = 4


def fit(columns: Sequence[Column], total: int) -> list[int]:
    """The width of each column's content for a table ``total`` cells wide.

    State columns get their width; the shared columns split the rest by share (the
    remainder to the first), each at least ``least``: on a terminal too narrow for
    that, the table scrolls sideways rather than hiding a state column.
    """
    fixed = sum(c.width for c in columns if not c.share)
    shares = sum(c.share for c in columns if c.share)
    free = max(0, total - SCROLLBAR - PADDING * len(columns) - fixed)
    widths = [c.width if not c.share else free * c.share // shares for c in columns]
    left = free - sum(w for c, w in zip(columns, widths, strict=True) if c.share)
    for i, column in enumerate(columns):
        if column.share:
            widths[i] += left
            break
    return [max(w, c.least) if c.share else w for c, w in zip(columns, widths, strict=True)]
