"""tlh.client: the one typed async client of the tlh HTTP API (CLI and TUI share it)."""

from .api import TlhClient
from .transport import Endpoint, Response, Transport

__all__ = ["Endpoint", "Response", "TlhClient", "Transport"]
