"""How a delivery fails, shared by the transport contract and every transport.

In their own module so the transports need not import ``transports`` (which builds
them): no import circle.
"""

from __future__ import annotations


class TransientError(Exception):
    """Delivery failed for now; the outbox retries with backoff."""


class PermanentError(Exception):
    """Delivery cannot succeed; the outbox marks the message failed with this reason."""
