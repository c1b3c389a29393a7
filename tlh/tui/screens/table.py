"""The shape the table screens share: a status line, one table of rows keyed by id, and
the key bar; redrawn from the dashboard state when it changes.

``show_rows`` changes the table in place: removed rows go, new rows at the end are added,
changed cells are updated; only a change of order rebuilds it. A DataTable re-measures
and re-renders every row when cleared, which with 100 people waiting held the event loop
for tens of milliseconds on each arrival.

Column widths come from the terminal's width (``tlh.tui.columns``), never from the rows:
a long name is cut with an ellipsis instead of pushing the state columns off screen.
While the stream is down (or the dashboard was opened elsewhere) every cell is dimmed:
what it shows may be out of date.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.widgets import DataTable, Static

from tlh.tui.columns import Column, fit
from tlh.tui.keybar import KeyBar
from tlh.tui.screens.base import DashboardScreen
from tlh.tui.screens.kept_table import KeptTable
from tlh.tui.state import DashboardState

#: A row's cells (``Text``, so nothing is read as markup).
Cells = tuple[Text, ...]
#: One row: its key and its cells.
Row = tuple[str, Cells]

#: How rows look while what they show may be out of date.
STALE_STYLE = "dim"


class TableScreen(DashboardScreen):
    """A screen of one table; subclasses fill it in ``redraw``."""

    def __init__(
        self,
        state: DashboardState,
        now: Callable[[], datetime],
        *,
        screen_id: str,
        columns: Sequence[Column],
    ) -> None:
        super().__init__(state, now, screen_id=screen_id)
        self.columns: Sequence[Column] = columns
        self.shown_version = -1
        #: What each row shows now, by row key (to update only the cells that changed).
        self._shown: dict[str, tuple[Text, ...]] = {}
        #: The columns and widths laid out (the widths follow the terminal's width).
        self._laid: tuple[list[str], list[int]] = ([], [])
        #: Whether the cells are drawn dimmed (the state is stale).
        self._dimmed = False

    def compose(self) -> ComposeResult:
        """Status line, the table, the key bar."""
        yield Static("", id="status", classes="status", markup=False)
        yield KeptTable(id=f"{self.id}-table", cursor_type="row", zebra_stripes=True)
        yield KeyBar()

    def on_mount(self) -> None:
        """Lay the columns out for the terminal as it is."""
        self.lay_out(self.app.size.width)

    def on_resize(self, event: events.Resize) -> None:
        """The terminal changed size: the shared columns take their share of it."""
        self.lay_out(event.size.width)

    def lay_out(self, width: int, columns: Sequence[Column] | None = None) -> None:
        """Give the columns their widths for ``width`` (rebuilding the table when they
        change) and draw the rows again."""
        if columns is not None:
            self.columns = columns
        widths = fit(self.columns, width)
        table = self.table
        laid = [c.key for c in self.columns], widths
        if laid == self._laid:
            return
        self._laid = laid
        keep = self.selected()
        table.clear(columns=True)
        for column, w in zip(self.columns, widths, strict=True):
            table.add_column(column.label, key=column.key, width=w)
        self._shown = {}
        self.shown_version = -1
        self.redraw()
        if keep is not None and keep in self._shown:
            table.move_cursor(row=table.get_row_index(keep))

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

    def _paint(self, cell: Text) -> Text:
        """A cell as drawn: one line, cut with an ellipsis; dimmed while stale."""
        painted = cell.copy()
        painted.no_wrap = True
        painted.overflow = "ellipsis"
        if self._dimmed:
            painted.stylize(STALE_STYLE)
        return painted

    def show_rows(self, rows: Sequence[Row]) -> None:
        """Make the table show ``rows`` in this order, changing as little as it can; the
        cursor stays on the same row."""
        if len(self.table.columns) != len(self.columns):
            return  # not laid out yet: ``lay_out`` draws
        table, keep = self.table, self.selected()
        dimmed = self.state.stale
        if dimmed != self._dimmed:
            self._dimmed = dimmed
            self._shown = dict.fromkeys(self._shown, ())  # every cell is drawn again
        wanted = [key for key, _ in rows]
        kept = [key for key in self._shown if key in set(wanted)]
        if kept != wanted[: len(kept)]:
            table.clear()
            self._shown = {}
        for key in [k for k in self._shown if k not in set(wanted)]:
            table.remove_row(key)
            del self._shown[key]
        keys = [column.key for column in self.columns]
        for key, cells in rows:
            before = self._shown.get(key)
            if before is None:
                table.add_row(*(self._paint(c) for c in cells), key=key)
            else:
                for i, (column, new) in enumerate(zip(keys, cells, strict=True)):
                    if i < len(before) and before[i] is new:
                        continue  # the very cell shown (a screen that keeps its cells)
                    if i >= len(before) or _looks(before[i]) != _looks(new):
                        table.update_cell(key, column, self._paint(new))
            self._shown[key] = cells
        if keep is not None and keep in self._shown:
            table.move_cursor(row=table.get_row_index(keep))

    def set_cell(self, key: str, column: str, value: Text) -> None:
        """Change one shown cell (a ticking timer) if that row is on the table."""
        cells = self._shown.get(key)
        if not cells:
            return
        index = [c.key for c in self.columns].index(column)
        if _looks(cells[index]) != _looks(value):
            self.table.update_cell(key, column, self._paint(value))
            self._shown[key] = (*cells[:index], value, *cells[index + 1 :])


def _looks(text: Text) -> tuple[str, str, list[object]]:
    """What a cell shows: its text and styles (``Text ==`` ignores the base style)."""
    return text.plain, str(text.style), list(text.spans)
