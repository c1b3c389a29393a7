"""The shape both dashboard screens share: a status line, one table of rows keyed by id,
and the key help; redrawn from the dashboard state when it changes."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from textual.app import ComposeResult
from textual.widgets import DataTable, Footer, Static

from tlh.tui.screens.base import DashboardScreen
from tlh.tui.state import DashboardState


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
