"""Who signs in to the client portal, and which clients they may act for (issue 13).

An address (email or mobile number) stands for the client whose own address it is (when
their portal access is on) and for every contact (caregiver) marked ``portal`` with that
address: a parent of two clients signs in once and sees both. What a session may act
for is worked out again from the records on each request, so turning access off (``tlh
portal revoke``, a changed address) takes effect at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from tlh.domain.messages import MessageChannel
from tlh.domain.models import Client, Contact
from tlh.errors import InvalidInput, NotFound
from tlh.services.context import Actor, Context
from tlh.services.validation import normalise_email, normalise_phone

#: What a caregiver asking for someone else's client is told: the same as for no client.
NO_CLIENT = "no such client"


@dataclass(frozen=True)
class Person:
    """The ids an address stands for: the client (if it is theirs) and portal contacts."""

    client_id: str | None
    #: ``(client id, contact id)`` of every portal contact with the address.
    contacts: tuple[tuple[str, str], ...] = ()
    #: Other clients whose own address it is too (a family sharing one email address).
    also_clients: tuple[str, ...] = ()

    def is_own(self, client_id: str) -> bool:
        """Whether ``client_id`` is a client whose own address this is."""
        return client_id == self.client_id or client_id in self.also_clients

    @property
    def kind(self) -> Literal["client", "contact"]:
        """``client`` when the address is a client's own, else ``contact``."""
        return "client" if self.client_id else "contact"

    @property
    def ids(self) -> tuple[str, ...]:
        """Every person id (client and contact ids), for audit notes and sign-in times."""
        own = [self.client_id] if self.client_id else []
        return (*own, *self.also_clients, *(c for _, c in self.contacts))


@dataclass(frozen=True)
class Principal:
    """Who a portal request comes from, and the clients they may act for.

    ``kind`` is ``client`` when the address is a client's own, else ``contact``. Other
    routes get one from ``tlh.server.routes.portal.portal_principal(request)``.
    """

    kind: Literal["client", "contact"]
    #: The client's id, else the first contact's id (what audit notes name).
    person_id: str
    person: Person
    #: The clients they may see and act for, the signed-in client first.
    client_ids: tuple[str, ...]
    #: The portal session's record id.
    session_id: str
    source: str = ""

    @property
    def actor(self) -> Actor:
        """The actor their requests act as (kind ``client`` or ``contact``)."""
        return Actor(kind=self.kind, id=self.person_id, source=self.source)

    def acts_for(self, client_id: str | None) -> bool:
        """Whether they may see and act for ``client_id``."""
        return client_id is not None and client_id in self.client_ids

    def require(self, client_id: str | None) -> str:
        """``client_id`` when they may act for it; ``NotFound`` (404) otherwise, as for a
        client that does not exist (a caregiver learns nothing of other clients)."""
        if client_id is None or not self.acts_for(client_id):
            raise NotFound(NO_CLIENT)
        return client_id

    def contact_id_for(self, client_id: str) -> str | None:
        """The contact id they hold for ``client_id`` (``None``: they are that client)."""
        if self.person.is_own(client_id):
            return None
        return next((c for cid, c in self.person.contacts if cid == client_id), None)


def parse_address(text: str) -> tuple[MessageChannel, str]:
    """An email address (has ``@``) or a mobile number, normalised; ``InvalidInput`` names
    what to type and never echoes the value."""
    text = text.strip()
    try:
        if "@" in text:
            return MessageChannel.EMAIL, normalise_email(text)
        return MessageChannel.SMS, normalise_phone(text)
    except InvalidInput:
        raise InvalidInput("type an email address or a mobile number") from None


async def find_person(ctx: Context, channel: MessageChannel, address: str) -> Person | None:
    """Whom ``address`` stands for (``None``: nobody with portal access).

    Every client is looked at whatever the answer, so the work does not depend on it.
    """
    field = "email" if channel is MessageChannel.EMAIL else "phone"
    own: list[Client] = []
    contacts: list[tuple[str, str]] = []
    for record in await ctx.store.all(Client):
        if record.portal and getattr(record, field) == address:
            own.append(record)
        contacts += [
            (record.id, c.id) for c in record.contacts if c.portal and getattr(c, field) == address
        ]
    if not own and not contacts:
        return None
    # The oldest record is "the" client; others with the same address are theirs too.
    own.sort(key=lambda c: (c.created_at, c.id))
    also = tuple(c.id for c in own[1:])
    return Person(own[0].id if own else None, tuple(contacts), also)


def portal_contact(client: Client, contact_id: str) -> Contact | None:
    """The contact ``contact_id`` of ``client`` if it has portal access."""
    return next((c for c in client.contacts if c.id == contact_id and c.portal), None)


async def acting_for(ctx: Context, person: Person) -> tuple[str, ...]:
    """The clients ``person`` may act for now (access on, the records still there)."""
    found: list[str] = []
    for client_id in (*([person.client_id] if person.client_id else []), *person.also_clients):
        own = await ctx.store.get(Client, client_id)
        if own is not None and own.portal:
            found.append(own.id)
    for client_id, contact_id in person.contacts:
        client = await ctx.store.get(Client, client_id)
        if (
            client is not None
            and portal_contact(client, contact_id) is not None
            and client_id not in found
        ):
            found.append(client_id)
    return tuple(found)
