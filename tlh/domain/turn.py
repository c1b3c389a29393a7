"""TURN credentials by the TURN REST API scheme (coturn's ``use-auth-secret``).

The username is ``EXPIRY:WHO`` (a Unix time and an id), the password the base64 HMAC-SHA1
of the username keyed with the secret tlh shares with coturn. coturn recomputes the
password and refuses a username whose time has passed, so a credential read out of a page
is worth nothing once its visit is over; no list of users is kept on either side.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass

#: Longest a minted credential lives, however far away the visit's end is: a page opened
#: days early gets fresh credentials again when admitted.
MAX_LIFE_S = 12 * 3600


@dataclass(frozen=True)
class TurnCredential:
    """One participant's TURN username and password (``credential`` in RTCIceServer)."""

    username: str
    credential: str
    expires_at: int


def mint(secret: str, who: str, expires_at: int) -> TurnCredential:
    """The credential coturn accepts for ``who`` until ``expires_at`` (Unix seconds)."""
    username = f"{expires_at}:{who}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return TurnCredential(username, base64.b64encode(digest).decode(), expires_at)


def expiry(now: float, ttl_s: int, visit_end: float | None = None) -> int:
    """When a credential handed out at ``now`` stops working: ``ttl_s`` past the visit's
    end (or past ``now`` when no end is known, or the end has passed), never more than
    ``MAX_LIFE_S`` ahead."""
    end = max(now, visit_end if visit_end is not None else now) + ttl_s
    return int(min(end, now + MAX_LIFE_S))
