"""``KeptTable``: a ``DataTable`` that keeps each cell's rendering until that cell changes.

Textual's ``DataTable`` keys its cell cache on a counter that every change moves: one
ticking timer, one arrival, and every visible cell is rendered again (Rich's padding,
styling and cropping, cell by cell). With 100 people waiting that is ~300 cells, 30-70 ms
on a loaded 2-core machine, once a second for the timers and again on most events: the
slow frames behind the dashboard's event-to-screen tail (bench/bench_dashboard.py).

Here a cell's rendering is kept for as long as the same cell object stays at the same
place with the same look: a cell changed with ``update_cell`` is a new object; cursor,
hover, focus and width are part of the key. A row that moves (one above it removed)
takes a new stripe, cursor state and mouse metadata, but its cells' own layout (Rich's
padding, wrapping and cropping: most of the cost) is kept too, and only styled again
for the new place. Everything Textual itself throws away on a style, theme or size
change (``_clear_caches``, ``notify_style_update``) goes here too. The DataTable internals
used (``_render_cell``, ``_get_styles_to_render_cell``, ``_row_locations``, ``_data``) are
Textual 8's: tests/tui/test_kept_table.py checks that it draws exactly what Textual's
own table draws, styles and mouse metadata included.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console, ConsoleOptions
from rich.padding import Padding
from rich.segment import Segment
from rich.style import Style
from textual.renderables.styled import Styled
from textual.widgets import DataTable

#: Renderings kept at most (a 100-row table on a tall terminal shows ~400 cells).
KEPT = 4096


class KeptTable(DataTable[Any]):
    """A ``DataTable`` whose unchanged cells are not rendered again on every change."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        #: A cell's place and look -> (the cell object it was made from, its lines).
        #: (Before Textual's init, which already clears the caches.)
        self._kept: dict[tuple[object, ...], tuple[object, Any]] = {}
        #: A cell's own layout, before any style of its place: (cell object, segments).
        self._laid: dict[tuple[object, ...], tuple[object, list[Segment]]] = {}
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
        row = self.rows[row_key]
        if row.auto_height or row.height != 1:
            lines = super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
        else:
            place = (row_key, column_key, width, self.cell_padding)
            lines = self._restyle(
                row_index, column_index, place, cell, base_style, width, cursor, hover
            )
        if len(self._kept) >= KEPT:
            self._kept.clear()
        self._kept[key] = (cell, lines)
        return lines

    def _restyle(
        self,
        row_index: int,
        column_index: int,
        place: tuple[object, ...],
        cell: object,
        base_style: Style,
        width: int,
        cursor: bool,
        hover: bool,
    ) -> Any:
        """What Textual's ``_render_cell`` does for a one-line cell, the cell's own layout
        (Rich's padding, wrapping and cropping: most of the cost) kept: a row that moved
        only takes its new place's styles (stripe, cursor, mouse metadata)."""
        options = self.app.console_options.update_dimensions(width, 1).update(no_wrap=True)
        laid = self._laid.get(place)
        if laid is None or laid[0] is not cell:
            shown = self._get_row_renderables(row_index)[1][column_index]
            padded = Padding(shown, (0, self.cell_padding))
            laid = (cell, list(self.app.console.render(padded, options)))
            if len(self._laid) >= KEPT:
                self._laid.clear()
            self._laid[place] = laid
        fixed = row_index < self.fixed_rows or column_index < self.fixed_columns
        component_style, post_style = self._get_styles_to_render_cell(
            False,
            False,
            fixed,
            hover,
            cursor,
            self.show_cursor,
            self._show_hover_cursor,
            self.cursor_foreground_priority == "css",
            self.cursor_background_priority == "css",
        )
        base_style += Style.from_meta({"row": row_index, "column": column_index})
        return self.app.console.render_lines(
            Styled(_Replay(laid[1]), pre_style=base_style + component_style, post_style=post_style),
            options,
        )

    def _clear_caches(self) -> None:
        super()._clear_caches()
        self._kept.clear()
        self._laid.clear()

    def notify_style_update(self) -> None:
        """Styles changed (theme, focus): nothing kept still looks right."""
        self._kept.clear()
        self._laid.clear()
        super().notify_style_update()


class _Replay:
    """Segments rendered before, as a renderable (to style them again)."""

    def __init__(self, segments: list[Segment]) -> None:
        self.segments = segments

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> list[Segment]:
        return self.segments
