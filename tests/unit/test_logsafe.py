"""The server's log handlers write no exception text, whoever logs the exception."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from tlh.logsafe import SafeExceptions, exception_summary

PHI = ("Jordan", "Rivera", "1990-04-12")


def _fail() -> None:
    name, dob = "Jordan Rivera", "1990-04-12"
    raise ValueError(f"client {name} dob {dob}")


def _raised() -> ValueError:
    try:
        _fail()
    except ValueError as exc:
        return exc
    raise AssertionError("not raised")


@pytest.fixture
def written() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    """A child logger (as ``tlh.services.outbox`` is) and what a filtered handler on
    its parent (as the server's root handler) writes."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(logging.Formatter("%(name)s %(message)s"))
    handler.addFilter(SafeExceptions())
    parent = logging.getLogger("logsafe_test")
    parent.addHandler(handler)
    parent.setLevel(logging.DEBUG)
    try:
        yield logging.getLogger("logsafe_test.service"), out
    finally:
        parent.removeHandler(handler)


def test_summary_names_type_and_frames_only() -> None:
    summary = exception_summary(_raised())
    assert summary.startswith("ValueError at test_logsafe.py:")
    assert "_fail < test_logsafe.py:" in summary
    assert not any(phi in summary for phi in PHI)


def test_a_traceback_becomes_the_summary(written: tuple[logging.Logger, io.StringIO]) -> None:
    log, out = written
    try:
        _fail()
    except ValueError:
        log.exception("rendering reminder %s failed", "rem_1")
    text = out.getvalue()
    assert text.startswith("logsafe_test.service rendering reminder rem_1 failed [ValueError at ")
    assert "Traceback" not in text
    assert not any(phi in text for phi in PHI)


@pytest.mark.parametrize(
    ("message", "args", "expected"),
    [
        ("transport failed: %s", "exc", "transport failed: ValueError"),
        ("%(what)s failed: %(why)s", "dict", "checkpoint failed: ValueError"),
        (None, (), "ValueError"),
    ],
)
def test_an_exception_given_as_an_argument_becomes_its_type(
    written: tuple[logging.Logger, io.StringIO], message: str | None, args: str, expected: str
) -> None:
    log, out = written
    exc = _raised()
    if message is None:
        log.error(exc)
    elif args == "dict":
        log.error(message, {"what": "checkpoint", "why": exc})
    else:
        log.error(message, exc)
    text = out.getvalue()
    assert text == f"logsafe_test.service {expected}\n"
