"""One-tap confirm and cancel links: made for a reminder, found by their token, used once.

A reminder's message holds each link's placeholder (``tlh.domain.action_links``); the
outbox makes the token when it hands the message to a transport, so no live token is
ever written. The page a link opens (``/a#TOKEN``) finds it by its token
(``find_action_link``); what it shows and does is ``tlh.services.client_actions``'.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from tlh.domain.action_links import (
    PLACEHOLDERS,
    ActionLink,
    LinkAction,
    action_url,
)
from tlh.domain.models import Appointment
from tlh.services.context import Actor, Context, new_id
from tlh.services.links import hash_link_token, outreach_of
from tlh.services.recipients import Recipient
from tlh.store.base import Put, note

#: Tokens are 43 URL-safe characters; anything far off that is not worth a look-up.
_TOKEN_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


@dataclass(frozen=True)
class Actions:
    """The confirm and cancel links of one message, and the template values for them."""

    links: list[ActionLink] = field(default_factory=list)
    values: dict[str, str] = field(default_factory=dict)


def action_links_for(ctx: Context, appt: Appointment, recipient: Recipient) -> Actions:
    """A confirm and a cancel link of ``appt`` for ``recipient`` (not stored yet; their
    tokens are made when the message is sent), with the ``confirm_link`` and
    ``cancel_link`` template values that hold their placeholders."""
    _, base = outreach_of(ctx)
    now = ctx.clock()
    links = [
        ActionLink(
            id=new_id("act"),
            token_hash="",
            action=action,
            appointment_id=appt.id,
            client_id=recipient.client_id,
            contact_id=recipient.contact_id,
            created_at=now,
            valid_until=appt.start,
        )
        for action in LinkAction
    ]
    values = {f"{k.action.value}_link": action_url(base, PLACEHOLDERS[k.action]) for k in links}
    return Actions(links, values)


async def store_action_links(ctx: Context, actor: Actor, links: Sequence[ActionLink]) -> None:
    """Store new action links in one commit, each one's creation audited."""
    if links:
        await ctx.store.commit(
            [Put(link) for link in links],
            audit=[note(actor, "action_link.create", *(link.id for link in links))],
        )


async def find_action_link(ctx: Context, token: object) -> ActionLink | None:
    """The action link a presented token names, or ``None`` (malformed tokens included)."""
    if not isinstance(token, str) or not 20 <= len(token) <= 100:
        return None
    if not set(token) <= _TOKEN_CHARS:
        return None
    found = await ctx.store.find(ActionLink, "token_hash", hash_link_token(token))
    link = found[0] if found else None
    return link
