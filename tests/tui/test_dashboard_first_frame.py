"""``tlh dashboard`` paints the day in its first frame (issue 21): the day is fetched while
the dashboard's code loads, so the terminal never shows an empty skeleton that a reload
then fills in.

The real console script runs in a pseudo-terminal against the practice's server. Textual
draws each line of the screen after moving the cursor to it (``ESC [ row ; col H``): up to
the moment the client's name is first drawn, no line of the table may have been drawn
twice, i.e. no frame came before the one with the day.
"""

from __future__ import annotations

import asyncio
import os
import re
import sys
from collections import Counter
from pathlib import Path

from tests.cli.terminal import Terminal

from .conftest import Practice
from .helpers import WAIT_S

TLH = str(Path(sys.executable).with_name("tlh"))
COLS, ROWS = 100, 30
#: A cursor move to a line (1-based row, column).
MOVE = re.compile(rb"\x1b\[(\d+);(\d+)H")


def lines_drawn_before(raw: bytes, shown: bytes) -> Counter[int]:
    """How often each line was drawn before ``shown`` first appeared."""
    end = raw.find(shown)
    assert end >= 0, f"{shown!r} never drawn"
    return Counter(int(m[1]) for m in MOVE.finditer(raw[:end]))


def run_dashboard(practice: Practice, home: Path) -> bytes:
    """``tlh dashboard`` until the day is on screen, then ``q``; all it drew."""
    env = {
        **os.environ,
        "TLH_URL": practice.url,
        "TLH_TOKEN": practice.clinician_token,
        "TLH_CONFIG": os.devnull,
        "TLH_DASHBOARD_CONFIG": str(home / "dashboard.toml"),
    }
    term = Terminal([TLH, "dashboard", "--no-sound"], env, cols=COLS, rows=ROWS)
    try:
        term.wait_for(rf"{practice.client_name}[^\n]*can start", within=WAIT_S * 2)
        term.write("q")
        assert term.wait_exit(within=WAIT_S) == 0
        return bytes(term.raw)
    finally:
        term.close()


async def test_the_first_frame_shows_the_day(practice: Practice, tmp_path: Path) -> None:
    raw = await asyncio.to_thread(run_dashboard, practice, tmp_path)
    drawn = lines_drawn_before(raw, practice.client_name.encode())
    table = {line: n for line, n in drawn.items() if 2 <= line <= ROWS - 2}
    assert table, "the first frame draws the table's lines"
    redrawn = sorted(line for line, n in table.items() if n > 1)
    assert not redrawn, f"lines {redrawn} were drawn before the day, then again with it"
    assert b"can start" in raw
