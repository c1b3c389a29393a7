"""The e2e fixtures, for every test here: a practice served on loopback and Debian's
headless Chromium, also with three fake cameras (all defined in ``browser.py``)."""

from .browser import browser, live_server, three_cameras

__all__ = ["browser", "live_server", "three_cameras"]
