"""Exceptions in logs without their text: a message or a traceback's locals may carry
patient data ("ValueError: client Jordan Rivera dob 1990-04-12"); the type and where it
was raised are enough to find the bug.
"""

from __future__ import annotations

import logging
import traceback
from pathlib import PurePath

#: Innermost frames named in a summary (where it was raised, and what called that).
FRAMES = 6


def exception_summary(exc: BaseException) -> str:
    """``ValueError at clients.py:88 add < routes.py:40 create``: the type and the
    innermost frames (file, line, function), never the message or any value."""
    frames = traceback.extract_tb(exc.__traceback__)[-FRAMES:]
    where = " < ".join(f"{PurePath(f.filename).name}:{f.lineno} {f.name}" for f in reversed(frames))
    return f"{type(exc).__name__} at {where}" if where else type(exc).__name__


class SafeExceptions(logging.Filter):
    """A handler filter that rewrites every record it passes so no exception text is
    written: a traceback (``log.exception``, ``exc_info``) becomes ``exception_summary``,
    an exception given as an argument (``log.error("failed: %s", exc)``) its type name.

    On the server's handlers it covers every logger, ours and the libraries'.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, BaseException):
            record.msg = type(record.msg).__name__
        if isinstance(record.args, tuple):
            record.args = tuple(
                type(a).__name__ if isinstance(a, BaseException) else a for a in record.args
            )
        elif isinstance(record.args, dict):
            record.args = {
                k: type(v).__name__ if isinstance(v, BaseException) else v
                for k, v in record.args.items()
            }
        if record.exc_info and record.exc_info[1] is not None:
            summary = exception_summary(record.exc_info[1])
            record.msg = f"{record.getMessage()} [{summary}]"
            record.args = None
        record.exc_info = None
        record.exc_text = None
        return True
