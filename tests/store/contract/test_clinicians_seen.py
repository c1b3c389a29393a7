"""Whose client a client is (``Repository.clinicians_seen``): the staff on any of the
client's appointments of the last 12 months or to come. Every backend answers the same,
after a reopen too: on ``tiny-cold`` every month is then on disk, answered from its key
index's pairings, and the month the 12 months start in is read to be exact."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import msgspec

from tests.seeding import seed
from tests.store.conftest import appt
from tests.store.contract.conftest import Backend, Store
from tlh.domain.models import Appointment, Role, Staff, Status
from tlh.domain.scope import RECENT
from tlh.services.context import SYSTEM
from tlh.store.base import Put, note

NOW = datetime.now(UTC).replace(microsecond=0)
SINCE = NOW - RECENT
STAFF = [f"stf_{x}" for x in "abcdefghx"]


def visits() -> list[Put]:
    """cli_1's appointments over the last two years, and another client's."""

    def visit(id: str, start: datetime, staff: str, *clients: str, **kw: object) -> Put:
        return Put(appt(id, start, clinicians=(staff,), client_ids=clients or ("cli_1",), **kw))

    staff = [
        Staff(id=s, email=f"{s}@example.org", name=s, role=Role.CLINICIAN, created_at=NOW,
              updated_at=NOW)
        for s in STAFF
    ]  # fmt: skip
    return [
        *(Put(s) for s in staff),
        visit("apt_long_ago", NOW - timedelta(days=400), "stf_a"),
        visit("apt_in_the_year", NOW - timedelta(days=300), "stf_b"),
        visit("apt_to_come", NOW + timedelta(days=10), "stf_c"),
        visit("apt_cancelled", NOW - timedelta(days=60), "stf_d", status=Status.CANCELLED),
        visit("apt_just_inside", SINCE + timedelta(hours=1), "stf_e"),
        visit("apt_just_outside", SINCE - timedelta(hours=1), "stf_f"),
        visit("apt_other_client", NOW - timedelta(days=10), "stf_g", "cli_2"),
        visit("apt_group", NOW - timedelta(days=100), "stf_h", "cli_2", "cli_1"),
    ]


SEEN = {"stf_b", "stf_c", "stf_d", "stf_e", "stf_h"}


async def test_the_staff_of_the_clients_visits_of_the_year(backend: Backend) -> None:
    first = backend.make()
    await first.open()
    await seed(first, visits())
    try:
        assert await first.clinicians_seen("cli_1", SINCE) == SEEN
        assert await first.clinicians_seen("cli_2", SINCE) == {"stf_g", "stf_h"}
        assert await first.clinicians_seen("cli_none", SINCE) == set()
    finally:
        await first.close()
    again: Store = backend.make()
    await again.open()
    try:
        assert await again.clinicians_seen("cli_1", SINCE) == SEEN
        assert await again.clinicians_seen("cli_2", SINCE) == {"stf_g", "stf_h"}
        # A later start of the year leaves the visit just inside out.
        assert await again.clinicians_seen("cli_1", SINCE + timedelta(hours=2)) == SEEN - {"stf_e"}

        # The visit of the year goes to another clinician (its month taken back in).
        old = await again.get(Appointment, "apt_in_the_year")
        assert old is not None
        moved = msgspec.structs.replace(old, clinician_ids=("stf_x",))
        await again.commit([Put(moved)], audit=[note(SYSTEM, "test.move", moved.id)])
        assert await again.clinicians_seen("cli_1", SINCE) == SEEN - {"stf_b"} | {"stf_x"}
    finally:
        await again.close()
