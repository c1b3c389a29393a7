"""The practice's policy: read it, change one or more settings."""

from __future__ import annotations

from typing import Any

import msgspec

from tlh.domain import policy as rules
from tlh.domain.audience import EVERYONE
from tlh.domain.models import Policy, Role
from tlh.domain.timeutil import zone
from tlh.errors import InvalidInput
from tlh.services import auth
from tlh.services.context import Actor, Context
from tlh.store.base import POLICY_ID, note


async def update_policy(ctx: Context, actor: Actor, fields: dict[str, Any]) -> Policy:
    """Change policy fields; every value is checked against the field's type."""
    auth.require_role(actor, Role.ADMIN)
    known = set(Policy.__struct_fields__)
    for key in fields:
        if key not in known:
            raise InvalidInput(f"unknown practice setting {key!r}")

    def apply(current: object) -> Policy:
        # On the policy as stored now: two settings changed at once both land.
        if not isinstance(current, Policy):
            raise RuntimeError("the data dir has no practice; run `tlh init`")
        return _checked(msgspec.to_builtins(current) | fields)

    policy = await ctx.store.update(
        "policy", POLICY_ID, apply, audit=[note(actor, "practice.update", POLICY_ID)]
    )
    assert isinstance(policy, Policy)
    ctx.events.publish("practice.updated", {"fields": sorted(fields)}, EVERYONE)
    return policy


def _checked(merged: dict[str, Any]) -> Policy:
    """The policy ``merged`` describes, if every value is of its field's type and range."""
    try:
        policy = msgspec.convert(merged, Policy)
    except msgspec.ValidationError as exc:
        raise InvalidInput(f"invalid practice setting: {exc}") from None
    zone(policy.timezone)
    rules.check(policy)
    return policy
