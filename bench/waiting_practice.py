"""The practice the waiting-room benches seed: appointments starting in five minutes,
a clinician per ten of them, one join link per client, consent off (so every client
goes straight to the waiting room). Written through the store before a server starts,
into any store (a data dir, or PostgreSQL through ``tlh init --store``'s practice)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import msgspec

from tests.seeding import seed as seed_store
from tlh.domain.links import Channel
from tlh.domain.models import Appointment, Client, Modality, Role, Staff, Status
from tlh.services import links
from tlh.services.context import SYSTEM, Context, new_id
from tlh.store.base import Put

PER_CLINICIAN = 10


async def waiting_appointments(ctx: Context, count: int, clients_per_appt: int = 1) -> list[Any]:
    """Seed ``count`` appointments starting in 5 minutes, each with ``clients_per_appt``
    clients and one join link per client; returns ``[(token, appointment_id,
    clinician_id)]``."""
    now = ctx.clock()
    policy = msgspec.structs.replace(ctx.policy(), consent_required=False)
    staff = [
        Staff(id=new_id("stf"), email=f"clin{n}@example.org", name=f"Clinician {n}",
              role=Role.CLINICIAN, telehealth=True, created_at=now, updated_at=now)
        for n in range(-(-count // PER_CLINICIAN))
    ]  # fmt: skip
    ops: list[Put] = [Put(policy), *(Put(s) for s in staff)]
    made: list[Any] = []
    start = (now + timedelta(minutes=5)).replace(microsecond=0)
    for n in range(count):
        people = [
            Client(id=new_id("cli"), name=f"Client {n}.{k}", created_at=now, updated_at=now)
            for k in range(clients_per_appt)
        ]
        appt = Appointment(
            id=new_id("apt"), modality=Modality.TELEHEALTH, status=Status.CONFIRMED,
            clinician_ids=(staff[n // PER_CLINICIAN].id,),
            client_ids=tuple(c.id for c in people), start=start, duration_min=50,
            created_at=now, updated_at=now,
        )  # fmt: skip
        ops += [Put(c) for c in people] + [Put(appt)]
        for person in people:
            new = links.join_link(ctx, SYSTEM, appt, Channel.COPY, client_id=person.id)
            ops.append(Put(new.link))
            made.append((new.token, appt.id, appt.clinician_ids[0]))
    await seed_store(ctx.store, ops)
    return made
