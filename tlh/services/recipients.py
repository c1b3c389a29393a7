"""Who receives what: the client and their contacts, per their reminder settings.

A missing address can be added at the moment of sending (``to``): it is validated,
saved to the client's (or contact's) record and audited as ``client.update``.
"""

from __future__ import annotations

from dataclasses import dataclass

import msgspec

from tlh.domain.links import ParticipantKind
from tlh.domain.messages import MessageChannel
from tlh.domain.models import Client, Contact, Reminder
from tlh.errors import InvalidInput, NotFound
from tlh.services.clients import change_client
from tlh.services.context import Actor, Context
from tlh.services.validation import normalise_email, normalise_phone


@dataclass(frozen=True)
class Recipient:
    """One person a message goes to (the address is PHI: never logged)."""

    participant: ParticipantKind
    client_id: str
    contact_id: str | None
    name: str
    address: str

    @property
    def key(self) -> str:
        """A stable id for idempotency keys: the contact's id, else the client's."""
        return self.contact_id or self.client_id


async def load_client(ctx: Context, client_id: str) -> Client:
    """The client record (``NotFound`` otherwise)."""
    client = await ctx.store.get(Client, client_id)
    if client is None:
        raise NotFound(f"no client {client_id}")
    return client


def address_of(person: Client | Contact, channel: MessageChannel) -> str | None:
    """The person's email or phone for ``channel``."""
    return person.email if channel is MessageChannel.EMAIL else person.phone


def _missing(client_id: str, contact_id: str | None, channel: MessageChannel) -> InvalidInput:
    what = "email address" if channel is MessageChannel.EMAIL else "mobile number"
    who = f"contact {contact_id} of client {client_id}" if contact_id else f"client {client_id}"
    return InvalidInput(f"{who} has no {what}; add one with --to or `tlh client update`")


async def add_address(
    ctx: Context,
    actor: Actor,
    client: Client,
    channel: MessageChannel,
    to: str,
    contact_id: str | None = None,
) -> Client:
    """Validate ``to`` and save it as the client's (or contact's) address; audited."""
    field = "email" if channel is MessageChannel.EMAIL else "phone"
    value = normalise_email(to) if channel is MessageChannel.EMAIL else normalise_phone(to)
    person: Client | Contact = client if contact_id is None else find_contact(client, contact_id)
    if getattr(person, field) == value:
        return client

    def with_address(found: Client) -> Client:
        if contact_id is None:
            return msgspec.structs.replace(found, **{field: value})
        find_contact(found, contact_id)  # still there
        contacts = tuple(
            msgspec.structs.replace(c, **{field: value}) if c.id == contact_id else c
            for c in found.contacts
        )
        return msgspec.structs.replace(found, contacts=contacts)

    return await change_client(ctx, actor, client.id, "client.update", with_address)


def find_contact(client: Client, contact_id: str) -> Contact:
    """The client's contact with ``contact_id`` (``NotFound`` otherwise)."""
    for contact in client.contacts:
        if contact.id == contact_id:
            return contact
    raise NotFound(f"client {client.id} has no contact {contact_id}")


def explicit(client: Client, channel: MessageChannel, contact_id: str | None = None) -> Recipient:
    """The one person an explicit send goes to (the client, or one contact); a missing
    address is ``InvalidInput`` saying how to add one."""
    person: Client | Contact = client if contact_id is None else find_contact(client, contact_id)
    address = address_of(person, channel)
    if not address:
        raise _missing(client.id, contact_id, channel)
    return Recipient(
        participant=ParticipantKind.CLIENT if contact_id is None else ParticipantKind.CONTACT,
        client_id=client.id,
        contact_id=contact_id,
        name=person.name,
        address=address,
    )


def by_settings(client: Client, channel: MessageChannel) -> list[Recipient]:
    """Everyone who asked for ``channel`` messages: the client (if their reminders say
    so) and each contact whose settings say so, with an address for it."""
    wanted = Reminder(channel.value)
    out: list[Recipient] = []
    people: list[tuple[Client | Contact, str | None]] = [(client, None)]
    people += [(c, c.id) for c in client.contacts]
    for person, contact_id in people:
        address = address_of(person, channel)
        if wanted in person.reminders and address:
            out.append(
                Recipient(
                    participant=ParticipantKind.CONTACT if contact_id else ParticipantKind.CLIENT,
                    client_id=client.id,
                    contact_id=contact_id,
                    name=person.name,
                    address=address,
                )
            )
    return out


def contacts_by_settings(client: Client, channel: MessageChannel) -> list[Recipient]:
    """The contacts (not the client) who asked for ``channel`` messages."""
    return [r for r in by_settings(client, channel) if r.contact_id is not None]
