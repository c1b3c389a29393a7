"""The practice's policy: read it, change one or more settings."""

from __future__ import annotations

import msgspec

from tlh.api.envelope import changed_fields
from tlh.domain import policy as rules
from tlh.domain.audience import EVERYONE
from tlh.domain.models import Policy, Role
from tlh.domain.timeutil import zone
from tlh.services import auth
from tlh.services.context import Actor, Context
from tlh.store.base import POLICY_ID, note


async def update_policy(ctx: Context, actor: Actor, changes: msgspec.Struct) -> Policy:
    """Change the settings ``changes`` (a ``tlh.api.practice.PolicyChanges``, each value
    already of its field's type) sets; the ranges are checked here."""
    auth.require_role(actor, Role.ADMIN)
    fields = changed_fields(changes)

    def apply(current: Policy | None) -> Policy:
        # On the policy as stored now: two settings changed at once both land.
        if current is None:
            raise RuntimeError("the data dir has no practice; run `tlh init`")
        return _checked(msgspec.structs.replace(current, **fields))

    policy = await ctx.store.update(
        Policy, POLICY_ID, apply, audit=[note(actor, "practice.update", POLICY_ID)]
    )
    assert policy is not None
    ctx.events.publish("practice.updated", {"fields": sorted(fields)}, EVERYONE)
    return policy


def _checked(policy: Policy) -> Policy:
    """``policy``, if every setting is within its range."""
    zone(policy.timezone)
    rules.check(policy)
    return policy
