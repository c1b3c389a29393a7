"""The one-tap confirm/cancel page's calls: what a link does, and doing it.

No staff token here: the page holds the link's token (from the URL fragment) and sends
it in the body (``tlh.api.links.Redeem``'s shape). Optional fields are left out when unset.
"""

from __future__ import annotations

from datetime import datetime

import msgspec

from tlh.domain.action_links import LinkAction
from tlh.domain.models import Status


class ActionView(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """``POST /api/v1/actions/look``: what the link's one button would do (or why it does
    nothing now: ``ready`` false, ``reason`` and ``message``). No client names."""

    action: LinkAction
    ready: bool
    #: Why it does nothing: used, cancelled, confirmed, moved, started, closed.
    reason: str | None = None
    message: str = ""
    practice_name: str
    contact_phone: str = ""
    contact_email: str = ""
    timezone: str
    starts_at: datetime | None = None
    #: The start in the practice's zone, as the reminder said it.
    date: str | None = None
    time: str | None = None
    clinician_name: str | None = None
    #: A cancel now would be a late cancellation (inside ``late_cancel_hours``).
    late: bool = False
    #: The client's language ("es"), as their reminder was written: the page speaks it.
    language: str | None = None


class ActionDone(msgspec.Struct, frozen=True, kw_only=True):
    """``POST /api/v1/actions/use``: what the button did."""

    action: LinkAction
    status: Status
    #: Cancelled inside the policy's ``late_cancel_hours``: a late cancellation.
    late: bool
