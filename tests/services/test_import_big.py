"""Planning a big import: 10,000 rows plan whole, and too many rows are refused up front.

Its speed is measured by bench/bench_cli.py (10k-row import, CLI start to exit), not here:
a timed test only flakes on a loaded machine."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from tlh.domain.models import Policy
from tlh.errors import TooLarge
from tlh.services.csvfile import TableRow, read_table
from tlh.services.importing import MAX_ROWS, plan_import
from tlh.store.base import POLICY_ID, Repository

from .conftest import NOW, make_csv


def generated_rows(n: int) -> bytes:
    base = datetime(2027, 1, 4, 8, 0)
    rows = []
    for i in range(n):
        clinician = "doc@example.com" if i % 2 else "other@example.com"
        slot = i // 2  # eight sessions a day, 09:00 to 16:00 local (never in a DST gap)
        start = base + timedelta(days=slot // 8, hours=1 + slot % 8)
        rows.append(
            {
                "external_id": f"ext-{i}",
                "client_external_id": f"C{i % 1000}",
                "client_name": f"Client {i % 1000}",
                "client_email": f"client{i % 1000}@example.com",
                "clinician_email": clinician,
                "start": start.isoformat(),
                "duration_min": "50",
                "modality": "telehealth" if i % 3 else "in_person",
                "notes": "generated",
            }
        )
    return make_csv(rows)


async def test_ten_thousand_rows_plan_whole(store: Repository) -> None:
    data = generated_rows(10_000)
    policy = await store.get(Policy, POLICY_ID)
    assert policy is not None
    rows = read_table(data, "csv")
    plan = await plan_import(rows, store, policy, NOW)
    assert plan.rejected == 0, plan.errors[:3]
    assert plan.created == 10_000
    assert len(plan.client_ids) == 1000


async def test_too_many_rows_is_refused_before_any_work(store: Repository) -> None:
    policy = await store.get(Policy, POLICY_ID)
    assert policy is not None
    rows = [TableRow(n + 2, {}) for n in range(MAX_ROWS + 1)]
    with pytest.raises(TooLarge, match="the file has 100,001 rows; the limit is 100,000"):
        await plan_import(rows, store, policy, NOW)
