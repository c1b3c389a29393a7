"""The server's log: one line per event, as text (a terminal, a file) or JSON (journald,
Loki), and never an exception's text (``tlh.logsafe``: it may carry patient data).

What reaches the log is written by tlh and its libraries as ids, routes without query
strings (``accesslog``) and exception types; the formats only shape it. JSON lines carry
``ts`` (UTC), ``level``, ``logger`` and ``msg``, plus the access log's fields (``remote``,
``method``, ``path``, ``status``, ``ms``) so a dashboard can count without parsing text.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

from tlh.logsafe import SafeExceptions

FORMATS = ("text", "json")
#: The attribute the access logger puts its fields under (``extra={HTTP: {...}}``).
HTTP = "http"


class OneLine(logging.Formatter):
    """The text format, a record per line: a newline in a message is written ``\\n``."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(name)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        return super().format(record).replace("\r", "\\r").replace("\n", "\\n")


class JsonLines(logging.Formatter):
    """One JSON object per line."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        fields = getattr(record, HTTP, None)
        if isinstance(fields, dict):
            line.update(fields)
        return json.dumps(line, ensure_ascii=False, separators=(",", ":"), default=str)


def configure_logging(log_format: str = "text") -> None:
    """INFO and up on stderr in ``log_format``, with no exception text from any logger
    (ours, aiohttp's, asyncio's)."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonLines() if log_format == "json" else OneLine())
    handler.addFilter(SafeExceptions())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.INFO)
