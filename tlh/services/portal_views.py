"""What the client portal shows the signed-in person (issue 13): who they are signed in
as and the clients they act for. Each read of a client's name is audited."""

from __future__ import annotations

from tlh.api.portal import PortalClient, PortalMe
from tlh.domain.models import Client
from tlh.services.context import Context
from tlh.services.portal_people import Principal


async def portal_me(ctx: Context, principal: Principal) -> PortalMe:
    """Who is signed in, with the names of the clients they act for (a read, audited)."""
    policy = ctx.policy()
    clients: list[PortalClient] = []
    languages: list[str | None] = []
    for client_id in principal.client_ids:
        record = await ctx.store.get(Client, client_id)
        if record is not None:
            own = principal.person.is_own(client_id)
            clients.append(
                PortalClient(id=record.id, name=record.name, relation="self" if own else "contact")
            )
            languages.append(record.language)
    await ctx.audit.append_many(principal.actor, "portal.client.read", list(principal.client_ids))
    return PortalMe(
        kind=principal.kind,
        clients=clients,
        practice_name=policy.practice_name,
        timezone=policy.timezone,
        notice_min=policy.portal_notice_min,
        contact_phone=policy.contact_phone,
        contact_email=policy.contact_email,
        language=_language(principal.kind, languages),
    )


def _language(kind: str, languages: list[str | None]) -> str | None:
    """The page's language: a client's own (listed first); a caregiver has no language
    of their own on file, and their messages come in their client's, so theirs when the
    clients that have one agree. Clients in different languages: ``None`` (the browser's
    preference), rather than one picked by the order of the list."""
    if kind == "client":
        return languages[0] if languages else None
    known = {lang for lang in languages if lang}
    return known.pop() if len(known) == 1 else None
