"""The shape the table screens share: a status line, one table of rows keyed by id, and
the key help; redrawn from the dashboard state when it changes.

``show_rows`` changes the table in place: removed rows go, new rows at the end are added,
changed cells are updated; only a change of order rebuilds it. A DataTable re-measures
and re-renders every row when cleared, which with 100 people waiting held the event loop
for tens of milliseconds on each arrival.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import DataTable, Footer, Static

from tlh.tui.screens.base import DashboardScreen
from tlh.tui.state import DashboardState

#: One row: its key and its cells (``Text``, so nothing is read as markup).
Row = tuple[str, tuple[Text, ...]]


class TableScreen(DashboardScreen):
    """A screen of one table; subclasses fill it in ``redraw``."""

    def __init__(
        self,
        state: DashboardState,
        now: Callable[[], datetime],
        *,
        screen_id: str,
        columns: Sequence[tuple[str, str]],
    ) -> None:
        super().__init__(state, now, screen_id=screen_id)
        self.columns = columns
        self.shown_version = -1
        #: What each row shows now, by row key (to update only the cells that changed).
        self._shown: dict[str, tuple[Text, ...]] = {}

    def compose(self) -> ComposeResult:
        """Status line, the table, the key help."""
        yield Static("", id="status", classes="status", markup=False)
        table: DataTable[object] = DataTable(
            id=f"{self.id}-table", cursor_type="row", zebra_stripes=True
        )
        for label, key in self.columns:
            table.add_column(label, key=key)
        yield table
        yield Footer()

    @property
    def table(self) -> DataTable[object]:
        """The screen's table."""
        return self.query_one(f"#{self.id}-table", DataTable)

    def selected(self) -> str | None:
        """The row id under the cursor, if any."""
        table = self.table
        if not table.row_count:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key
        return None if key.value is None else str(key.value)

    def show_rows(self, rows: Sequence[Row]) -> None:
        """Make the table show ``rows`` in this order, changing as little as it can; the
        cursor stays on the same row."""
        table, keep = self.table, self.selected()
        wanted = [key for key, _ in rows]
        kept = [key for key in self._shown if key in set(wanted)]
        if kept != wanted[: len(kept)]:
            table.clear()
            self._shown = {}
        for key in [k for k in self._shown if k not in set(wanted)]:
            table.remove_row(key)
            del self._shown[key]
        keys = [column for _, column in self.columns]
        for key, cells in rows:
            before = self._shown.get(key)
            if before is None:
                table.add_row(*cells, key=key)
            else:
                for column, old, new in zip(keys, before, cells, strict=True):
                    if _looks(old) != _looks(new):
                        table.update_cell(key, column, new, update_width=True)
            self._shown[key] = cells
        if keep is not None and keep in self._shown:
            table.move_cursor(row=table.get_row_index(keep))

    def set_cell(self, key: str, column: str, value: Text) -> None:
        """Change one shown cell (a ticking timer) if that row is on the table."""
        cells = self._shown.get(key)
        if cells is None:
            return
        index = [c for _, c in self.columns].index(column)
        if _looks(cells[index]) != _looks(value):
            self.table.update_cell(key, column, value, update_width=True)
            self._shown[key] = (*cells[:index], value, *cells[index + 1 :])


def _looks(text: Text) -> tuple[str, str, list[object]]:
    """What a cell shows: its text and styles (``Text ==`` ignores the base style)."""
    return text.plain, str(text.style), list(text.spans)
