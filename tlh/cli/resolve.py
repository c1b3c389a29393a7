"""Clients named the way people name them: an id, an email, an external id, or a name.

``tlh client show jordan@example.org``, ``tlh appt add --client "Jordan Rivera"``: the
text goes to the server's search in a request body (never a URL: it is patients' data)
and must match one client exactly (case aside) by email, external id or full name. Two
matches, or none, stop the command with the candidates listed on stderr for the person
at the terminal to choose from; the error line itself names no one.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from tlh.errors import NotFound, TlhError

from .output import Output, clean

if TYPE_CHECKING:
    from tlh.client import TlhClient
    from tlh.domain.models import Client

#: A client id as the server makes them (``cli_`` and 12 URL-safe characters).
CLIENT_ID = re.compile(r"^cli_[A-Za-z0-9_-]{6,}$")
#: Candidates listed at most (a search for "a" could match everyone).
SHOWN = 10


class Ambiguous(TlhError):
    """A name that fits more than one record (exit 5: the input does not say which)."""

    code = "ambiguous"


def _keys(found: Client) -> set[str]:
    return {k.casefold() for k in (found.name, found.email, found.external_id) if k}


def _list(out: Output, clients: list[Client]) -> None:
    for c in clients[:SHOWN]:
        extra = "  ".join(clean(v) for v in (c.email, c.external_id) if v)
        out.note(f"  {c.id}  {clean(c.name)}  {extra}".rstrip())
    if len(clients) > SHOWN:
        out.note(f"  ... and {len(clients) - SHOWN} more")


async def client_id(client: TlhClient, out: Output, ref: str) -> str:
    """The id of the one client ``ref`` names (``NotFound``/``Ambiguous`` otherwise)."""
    text = ref.strip()
    if CLIENT_ID.match(text):
        return text
    if not text:
        raise NotFound("name a client: an id, an email, an external id or a full name")
    found = await client.clients.search(text)
    exact = [c for c in found if text.casefold() in _keys(c)]
    if len(exact) == 1:
        return exact[0].id
    if len(exact) > 1:
        out.note(f"{len(exact)} clients fit; name one by id:")
        _list(out, exact)
        raise Ambiguous(f"{len(exact)} clients have that name, email or external id")
    if found:
        out.note("close matches (name one by id, email or full name):")
        _list(out, found)
    raise NotFound("no client has that id, email, external id or full name")


async def client_ids(client: TlhClient, out: Output, refs: list[str]) -> list[str]:
    """Each of ``refs`` resolved (``client_id``), in order."""
    return [await client_id(client, out, ref) for ref in refs]
