"""The STUN/TURN servers each call page is handed.

The fixed ``[rooms] ice_servers`` go to everyone as configured; with ``[turn] secret`` and
``urls`` each participant also gets a TURN entry with credentials minted for them alone,
expiring after their visit (``tlh.domain.turn``). Real time, not the practice clock: coturn
checks the expiry against its own clock.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tlh.domain.models import Appointment
from tlh.domain.turn import expiry, mint
from tlh.services.context import Context

#: Seconds a minted credential outlives its visit's scheduled end (calls run over).
DEFAULT_TTL_S = 3600


@dataclass(frozen=True)
class IcePlan:
    """What ``servers`` hands out: fixed entries, and minted TURN ones when configured."""

    static: tuple[dict[str, Any], ...] = ()
    turn_urls: tuple[str, ...] = ()
    #: The secret shared with coturn (``static-auth-secret``); ``None``: nothing minted.
    turn_secret: str | None = field(default=None, repr=False)
    ttl_s: int = DEFAULT_TTL_S
    clock: Callable[[], float] = time.time

    @classmethod
    def of(cls, servers: Iterable[Mapping[str, Any]] | IcePlan) -> IcePlan:
        """A plan from fixed entries (or the plan itself)."""
        if isinstance(servers, IcePlan):
            return servers
        return cls(static=tuple(dict(s) for s in servers))

    @property
    def mints(self) -> bool:
        """Whether TURN credentials are minted (a secret and at least one URL)."""
        return bool(self.turn_secret and self.turn_urls)

    def servers(self, who: str, visit_end: datetime | None = None) -> list[dict[str, Any]]:
        """The RTCIceServer dicts for participant ``who`` (an entry, staff or link id)."""
        found = [dict(s) for s in self.static]
        if self.turn_secret and self.turn_urls:
            now = self.clock()
            end = visit_end.timestamp() if visit_end is not None else None
            minted = mint(self.turn_secret, who, expiry(now, self.ttl_s, end))
            found.append(
                {
                    "urls": list(self.turn_urls),
                    "username": minted.username,
                    "credential": minted.credential,
                }
            )
        return found


async def visit_end(ctx: Context, appointment_id: str | None) -> datetime | None:
    """The scheduled end of the visit a credential is for (``None``: a room, no end)."""
    found = await ctx.store.get(Appointment, appointment_id) if appointment_id else None
    return found.end if found is not None else None
