"""``KeptTable`` keeps cell renderings between changes, and still shows every change: a
cell updated, a row removed above others (they move up, stripes and all), the cursor
moved, a new theme."""

from __future__ import annotations

from rich.text import Text
from textual.app import App, ComposeResult

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
