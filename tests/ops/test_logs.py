"""The server's log formats: one line per event whatever a message holds, and no
exception's text in either (it may carry patient data)."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from tlh.server.logformat import configure_logging


@pytest.fixture
def captured(request: pytest.FixtureRequest) -> Iterator[io.StringIO]:
    root = logging.getLogger()
    kept = (list(root.handlers), root.level)
    configure_logging(request.param)
    sink = io.StringIO()
    root.handlers[0].setStream(sink)  # type: ignore[attr-defined]
    yield sink
    root.handlers[:] = kept[0]
    root.setLevel(kept[1])


def raise_with_phi() -> None:
    raise ValueError("client Jordan Rivera dob 1990-04-12")


def log_events() -> None:
    log = logging.getLogger("tlh.test")
    log.warning("a message\nwith a second line")
    try:
        raise_with_phi()
    except ValueError as exc:
        log.exception("import failed")
        log.error("failed: %s", exc)


@pytest.mark.parametrize("captured", ["text", "json"], indirect=True)
def test_one_line_per_event_and_no_exception_text(captured: io.StringIO) -> None:
    log_events()
    lines = captured.getvalue().splitlines()
    assert len(lines) == 3
    assert "Jordan" not in captured.getvalue()
    assert "1990-04-12" not in captured.getvalue()
    assert "ValueError at test_logs.py" in lines[1]
    assert lines[2].endswith("failed: ValueError") or '"msg":"failed: ValueError"' in lines[2]


@pytest.mark.parametrize("captured", ["json"], indirect=True)
def test_json_lines_carry_level_logger_and_time(captured: io.StringIO) -> None:
    logging.getLogger("tlh.server").info("tlh serving %s", "http://127.0.0.1:1")
    line = json.loads(captured.getvalue())
    assert line["level"] == "info"
    assert line["logger"] == "tlh.server"
    assert line["msg"] == "tlh serving http://127.0.0.1:1"
    assert line["ts"].endswith("+00:00")
