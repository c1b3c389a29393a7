"""The event stream's tests run against the dashboard tests' real server and practice."""

from tests.tui.conftest import practice, server

__all__ = ["practice", "server"]
