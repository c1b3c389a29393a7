"""Open slots as staff and clients see them: the practice's policy and the stored
calendar fed to ``tlh.domain.slots.open_slots``.

Reads go through the store's (clinician, day) index (``appointments_between``), so the
cost is the range asked for, never the practice's history.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta

from tlh.domain.models import AvailabilityBlock, Modality, Role, Staff
from tlh.domain.slots import Slot, bounds, open_slots
from tlh.domain.timeutil import check_year, local_day_bounds, zone
from tlh.errors import BadRequest, InvalidInput, NotFound
from tlh.services import auth
from tlh.services.availability import blocks_of
from tlh.services.context import Actor, Context
from tlh.services.staff import find_staff

READERS = (Role.ADMIN, Role.SCHEDULER, Role.CLINICIAN)
#: The longest range one question may ask for: a year (the horizon is at most 366 days).
MAX_RANGE_DAYS = 366


def parse_day(value: str, what: str) -> date:
    """A ``YYYY-MM-DD`` date, or ``BadRequest`` naming the parameter."""
    try:
        return check_year(date.fromisoformat(value.strip()), what)
    except ValueError:
        raise BadRequest(f"{what} is not a date (YYYY-MM-DD): {value[:20]!r}") from None
    except InvalidInput as exc:
        raise BadRequest(exc.message) from None


def parse_modality(value: str | None) -> Modality | None:
    """``telehealth`` or ``in_person`` (``None``/``""``: any), else ``BadRequest``."""
    if not value:
        return None
    try:
        return Modality(value.strip().lower().replace("-", "_"))
    except ValueError:
        raise BadRequest("modality must be telehealth or in_person") from None


async def clinicians(ctx: Context, refs: Sequence[str]) -> list[Staff]:
    """The clinicians named (ids or emails); none named: every active clinician."""
    if not refs:
        return [s for s in await ctx.store.all(Staff) if s.active and s.is_clinician]
    found: list[Staff] = []
    for ref in refs:
        try:
            staff = await find_staff(ctx, ref)
        except NotFound as exc:
            raise BadRequest(exc.message) from None
        if not staff.is_clinician:
            raise BadRequest(f"staff member {staff.id} is not a clinician")
        found.append(staff)
    return found


async def slots_for(
    ctx: Context,
    clinician_ids: Sequence[str],
    start: datetime,
    end: datetime,
    modality: Modality | None,
) -> list[Slot]:
    """Open slots of the clinicians in UTC [start, end), under the policy's notice,
    horizon and slot length, as of the context's clock."""
    policy = ctx.policy()
    tz = zone(policy.timezone)
    within = bounds(ctx.clock(), start, end, policy.booking_min_notice_h, policy.booking_max_days)
    blocks: dict[str, list[AvailabilityBlock]] = await blocks_of(ctx.store, clinician_ids)
    busy = {cid: await ctx.store.busy_between(start, end, cid) for cid in blocks if blocks[cid]}
    return open_slots(blocks, busy, tz, within, policy.booking_slot_min, modality)


async def list_slots(
    ctx: Context,
    actor: Actor,
    *,
    clinician: Sequence[str] = (),
    from_: str | None = None,
    to: str | None = None,
    modality: str | None = None,
) -> list[Slot]:
    """Open slots on local days ``from_``..``to`` (inclusive; default: today and the
    booking horizon) of the clinicians named (default: every active clinician)."""
    auth.require_role(actor, *READERS)
    tz = zone(ctx.policy().timezone)
    today = ctx.clock().astimezone(tz).date()
    first = parse_day(from_, "from") if from_ else today
    last = parse_day(to, "to") if to else first + timedelta(days=ctx.policy().booking_max_days)
    if last < first:
        raise BadRequest("from is after to")
    if (last - first).days >= MAX_RANGE_DAYS:
        raise BadRequest(f"ask for at most {MAX_RANGE_DAYS} days at a time")
    mode = parse_modality(modality)
    people = await clinicians(ctx, clinician)
    start, _ = local_day_bounds(first, tz)
    _, end = local_day_bounds(last, tz)
    return await slots_for(ctx, [s.id for s in people], start, end, mode)
