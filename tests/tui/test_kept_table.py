"""``KeptTable`` keeps cell renderings between changes, and still shows every change: a
cell updated, a row removed above others (they move up, stripes and all), the cursor
moved, a new theme."""

from __future__ import annotations

from rich.text import Text
from textual.app import App, ComposeResult
from textual.widgets import DataTable

from tlh.tui.screens.kept_table import KeptTable


class Table(App[None]):
    def compose(self) -> ComposeResult:
        yield KeptTable(cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        table = self.query_one(KeptTable)
        table.add_column("Who", key="who")
        table.add_column("Timer", key="since")
        for n in range(5):
            table.add_row(Text(f"person {n}"), Text(f"0:0{n}"), key=f"p{n}")


def shown(app: App[None]) -> list[str]:
    """The table's lines as drawn now (header first)."""
    table = app.query_one(KeptTable)
    return [
        "".join(s.text for s in table.render_line(y)).strip() for y in range(table.row_count + 1)
    ]


def styles(app: App[None]) -> list[str]:
    table = app.query_one(KeptTable)
    return [str(table.render_line(y)) for y in range(1, table.row_count + 1)]


async def test_changes_show_through_the_kept_renderings() -> None:
    app = Table()
    async with app.run_test(size=(40, 10)) as pilot:
        table = app.query_one(KeptTable)
        await pilot.pause()
        assert shown(app)[1:3] == ["person 0  0:00", "person 1  0:01"]

        table.update_cell("p1", "since", Text("9:59"))
        await pilot.pause()
        assert shown(app)[2] == "person 1  9:59"

        before = styles(app)
        table.remove_row("p0")
        await pilot.pause()
        assert shown(app)[1:] == [
            "person 1  9:59",
            "person 2  0:02",
            "person 3  0:03",
            "person 4  0:04",
        ]
        after = styles(app)
        # Each row moved up one line and took that line's look (cursor row, stripes).
        assert after[0] == before[0].replace("person 0", "person 1").replace("0:00", "9:59")
        assert after[1] == before[1].replace("person 1", "person 2").replace("9:59", "0:02")

        await pilot.press("down")
        assert table.cursor_row == 1
        assert styles(app)[0] != after[0]  # the cursor left the first row
        assert styles(app)[1] != after[1]  # and is on the second

        painted = styles(app)
        app.theme = "textual-light" if app.theme != "textual-light" else "nord"
        await pilot.pause()
        assert styles(app) != painted


async def test_a_click_selects_the_row_drawn_there_after_rows_above_went() -> None:
    """Two rows removed keep every stripe as it was: only the kept rendering's place
    (its mouse metadata) says which row a click is on."""
    app = Table()
    async with app.run_test(size=(40, 10)) as pilot:
        table = app.query_one(KeptTable)
        await pilot.pause()
        table.remove_row("p0")
        table.remove_row("p1")
        await pilot.pause()
        assert shown(app)[2] == "person 3  0:03"
        await pilot.click(KeptTable, offset=(3, 2))  # the second row's line
        row_key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key
        assert row_key.value == "p3"


class One(App[None]):
    """Some rows in a table of class ``kind``: Textual's own, or a ``KeptTable``."""

    def __init__(self, kind: type[DataTable[object]]) -> None:
        super().__init__()
        self.kind = kind

    def compose(self) -> ComposeResult:
        yield self.kind(cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_column("", key="mark", width=3)
        table.add_column("Who", key="who", width=10)
        table.add_column("Timer", key="since", width=6)
        for n in range(12):
            new = n % 3 == 0
            table.add_row(
                Text("NEW", style="bold reverse yellow") if new else Text(""),
                Text(f"a rather long name {n}", no_wrap=True, overflow="ellipsis"),
                Text(f"0:0{n}", style="bold red" if n > 5 else ""),
                key=f"p{n}",
            )


def drawn(table: DataTable[object]) -> list[str]:
    """Every line of ``table`` as drawn: text, styles and mouse metadata."""
    return [repr(list(table.render_line(y))) for y in range(table.size.height)]


async def frames(kind: type[DataTable[object]]) -> list[list[str]]:
    """What a table of ``kind`` draws through a series of changes."""
    app = One(kind)
    seen = []
    async with app.run_test(size=(40, 10)) as pilot:
        table = app.query_one(DataTable)
        steps = [
            lambda: None,
            lambda: table.update_cell("p1", "since", Text("9:59", style="bold red")),
            lambda: table.remove_row("p0"),
            lambda: table.move_cursor(row=3),
            lambda: table.remove_row("p2"),
            lambda: table.add_row(Text(""), Text("late"), Text("0:00"), key="p99"),
            lambda: setattr(app, "theme", "textual-light"),
        ]
        for step in steps:
            step()
            await pilot.pause()
            seen.append(drawn(table))
    return seen


async def test_it_draws_exactly_what_textuals_table_draws() -> None:
    assert await frames(KeptTable) == await frames(DataTable)
