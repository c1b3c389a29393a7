"""Scheduling conflicts of an import's writes, against the store and each other.

Of two rows that collide, the later one is rejected; unchanged rows are not
re-checked. A file of 10,000 rows is checked with one sorted timeline per clinician,
not by asking the domain about every pair.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import timedelta

from tlh.domain import conflicts
from tlh.domain.models import Appointment
from tlh.services.import_rows import RowPlan
from tlh.store.base import Repository


async def check_conflicts(store: Repository, plans: Sequence[RowPlan]) -> None:
    """Reject rows whose writes collide with the store or with an earlier row."""
    writes = [c for p in plans if not p.errors for c in p.candidates if c.action != "unchanged"]
    row_of = {c.appt.id: c.row for c in writes}
    by_clinician: dict[str, list[Appointment]] = defaultdict(list)
    for cand in writes:
        for clinician_id in cand.appt.clinician_ids:
            by_clinician[clinician_id].append(cand.appt)
    # Overlap prefilter on sorted intervals (O(n log n) + pairs), instead of
    # asking the domain about every pair; the domain still decides each conflict.
    neighbours: dict[str, list[Appointment]] = defaultdict(list)
    for clinician_id, appts in by_clinician.items():
        lo = min(a.start for a in appts)
        hi = max(a.end for a in appts)
        stored = await store.appointments_between(
            lo - timedelta(minutes=1), hi + timedelta(minutes=1), clinician_id
        )
        timeline = sorted([a for a in stored if a.id not in row_of] + appts, key=lambda a: a.start)
        for i, a in enumerate(timeline):
            a_end = a.end
            for j in range(i + 1, len(timeline)):
                b = timeline[j]
                if b.start > a_end:
                    break
                if a.id in row_of:
                    neighbours[a.id].append(b)
                if b.id in row_of:
                    neighbours[b.id].append(a)
    accepted: set[str] = set()
    for plan in plans:
        if plan.errors:
            continue
        mine: set[str] = set()
        reasons: dict[str, None] = {}
        for cand in plan.candidates:
            if cand.action == "unchanged":
                continue
            others = [
                o
                for o in neighbours.get(cand.appt.id, ())
                if o.id not in row_of or o.id in accepted or o.id in mine
            ]
            # Nothing near it in time (most rows of a clean file): nothing to ask about.
            for found in conflicts.find_conflicts(cand.appt, others) if others else ():
                other_row = row_of.get(found.other_id)
                if other_row == plan.row:
                    label = "another occurrence of this series"
                elif other_row is not None:
                    label = f"row {other_row}"
                else:
                    label = found.other_id
                reasons[f"conflicts with {label} ({found.code})"] = None
            mine.add(cand.appt.id)
        for reason in reasons:
            plan.bad("start", reason)
        if not plan.errors:
            accepted |= mine
