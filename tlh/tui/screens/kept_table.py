"""``KeptTable``: a ``DataTable`` that keeps each cell's rendering until that cell changes.

Textual's ``DataTable`` keys its cell cache on a counter that every change moves: one
ticking timer, one arrival, and every visible cell is rendered again (Rich's padding,
styling and cropping, cell by cell). With 100 people waiting that is ~300 cells, 30-70 ms
on a loaded 2-core machine, once a second for the timers and again on most events: the
slow frames behind the dashboard's event-to-screen tail (bench/bench_dashboard.py).

Here a cell's rendering is kept for as long as the same cell object stays at the same
place with the same look: a cell changed with ``update_cell`` is a new object; a row that
moves (one above it removed) has a new index, its mouse metadata and zebra stripe with it;
cursor, hover, focus and width are part of the key. Everything Textual itself throws away
on a style, theme or size change (``_clear_caches``, ``notify_style_update``) goes here
too. The DataTable internals used (``_render_cell``, ``_row_locations``, ``_data``) are
those of Textual 8; ``tests/tui`` (snapshots included) render through this class.
"""

from __future__ import annotations

from typing import Any

from rich.style import Style
from textual.widgets import DataTable

#: Renderings kept at most (a 100-row table on a tall terminal shows ~400 cells).
KEPT = 4096


class KeptTable(DataTable[Any]):
    """A ``DataTable`` whose unchanged cells are not rendered again on every change."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        #: A cell's place and look -> (the cell object it was made from, its lines).
        #: (Before Textual's init, which already clears the caches.)
        self._kept: dict[tuple[object, ...], tuple[object, Any]] = {}
        super().__init__(*args, **kwargs)

    def _render_cell(
        self,
        row_index: int,
        column_index: int,
        base_style: Style,
        width: int,
        cursor: bool = False,
        hover: bool = False,
    ) -> Any:
        """The cell's lines, rendered again only when it, its place or its look changed."""
        if row_index < 0 or column_index < 0:  # the header and row labels: as Textual does
            return super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
        row_key = self._row_locations.get_key(row_index)
        column_key = self._column_locations.get_key(column_index)
        if row_key is None or column_key is None:  # not a cell of the table: as Textual does
            return super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
        cell = self._data[row_key][column_key]
        key = (
            row_key,
            column_key,
            row_index,
            base_style,
            width,
            cursor,
            hover,
            self._show_hover_cursor,
            self._pseudo_class_state,
        )
        kept = self._kept.get(key)
        if kept is not None and kept[0] is cell:
            return kept[1]
        lines = super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
        if len(self._kept) >= KEPT:
            self._kept.clear()
        self._kept[key] = (cell, lines)
        return lines

    def _clear_caches(self) -> None:
        super()._clear_caches()
        self._kept.clear()

    def notify_style_update(self) -> None:
        """Styles changed (theme, focus): nothing kept still looks right."""
        self._kept.clear()
        super().notify_style_update()
