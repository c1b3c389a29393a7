"""What the other people in a call see of a client: a first name, never the full name."""

from __future__ import annotations

from tests.seeding import seed
from tlh.domain.links import Channel, ParticipantKind
from tlh.domain.models import Client, Contact
from tlh.domain.rooms import RoomEntry
from tlh.services.context import Context
from tlh.services.waiting_view import call_label
from tlh.store.base import Put

from .conftest import NOW


def _entry(**kw: object) -> RoomEntry:
    return RoomEntry(
        id="ent_1",
        clinician_id="stf_doc",
        link_id="lnk_1",
        participant=kw.pop("participant", ParticipantKind.CLIENT),  # type: ignore[arg-type]
        channel=Channel.EMAIL,
        arrived_at=NOW,
        state_since=NOW,
        device_id="dev",
        **kw,  # type: ignore[arg-type]
    )


async def test_peers_see_first_names_only(ctx: Context) -> None:
    carer = Contact(id="con_1", name="Mei Chen", relationship="parent")
    client = Client(
        id="cli_1", name="Riley Chen", contacts=(carer,), created_at=NOW, updated_at=NOW
    )
    await seed(ctx.store, [Put(client)])
    assert await call_label(ctx, _entry(client_id="cli_1")) == "Riley"
    contact = _entry(client_id="cli_1", contact_id="con_1", participant=ParticipantKind.CONTACT)
    assert await call_label(ctx, contact) == "Mei"
    gone = _entry(client_id="cli_1", contact_id="con_9", participant=ParticipantKind.CONTACT)
    assert await call_label(ctx, gone) == "Caregiver of Riley"
    guest = _entry(participant=ParticipantKind.GUEST, display_name="Sam G.")
    assert await call_label(ctx, guest) == "Sam G."
