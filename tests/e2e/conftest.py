"""The e2e fixtures, for every test here: a practice served on loopback and Debian's
headless Chromium (both defined in ``browser.py``)."""

from .browser import browser, live_server

__all__ = ["browser", "live_server"]
