"""``tlh store migrate``: an embedded practice copied into PostgreSQL, verified, resumable
after kill -9, and refused (one line, nothing written) for bad input."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.pgserver import PgServer
from tests.seeding import seed
from tests.store.conftest import message, segment
from tlh.cli.main import app
from tlh.domain.models import Appointment, Client, Staff
from tlh.store.base import TABLES, Put
from tlh.store.keys import KeySource
from tlh.store.lock import DataDirLock
from tlh.store.open import store_at

ROOT = Path(__file__).resolve().parents[2]
T0 = datetime(2026, 1, 5, 9, tzinfo=UTC)


def _init(tmp_path: Path, name: str) -> tuple[Path, Path]:
    """A new encrypted practice: (data dir, key file)."""
    data, key = tmp_path / name, tmp_path / f"{name}.key"
    env = {"TLH_CONFIG": str(tmp_path / f"{name}.toml"), "TLH_URL": None, "TLH_TOKEN": None}
    args = ["init", "--practice", name, "--tz", "UTC", "--admin", f"admin@{name}.example"]
    args += ["--data-dir", str(data), "--key-file", str(key), "--url", "http://127.0.0.1:9"]
    result = CliRunner().invoke(app, args, env=env)
    assert result.exit_code == 0, result.stderr
    return data, key


async def _fill(data: Path, key: Path, appointments: int, *, batch: int = 500) -> None:
    """Clients and appointments over several months (seeded in batches, as imports are)."""
    store = store_at(data, keys=KeySource(key_file=key))
    await store.open()
    try:
        staff = (await store.all(Staff))[0]
        clients = [
            Client(
                id=f"cli_{n}",
                name=f"Client {n}",
                email=f"c{n}@x.example",
                created_at=T0,
                updated_at=T0,
            )
            for n in range(50)
        ]
        await seed(store, [Put(c) for c in clients])
        for lo in range(0, appointments, batch):
            await seed(
                store,
                [
                    put
                    for n in range(lo, min(lo + batch, appointments))
                    for put in (
                        Put(
                            Appointment(
                                id=f"apt_{n}",
                                clinician_ids=(staff.id,),
                                client_ids=(f"cli_{n % 50}",),
                                start=T0 + timedelta(hours=7 * n),
                                duration_min=50,
                                created_at=T0,
                                updated_at=T0,
                            )
                        ),
                        # Each visit's trail: months that a server (and the copy)
                        # leaves on disk, being older than this month and the last.
                        Put(
                            message(
                                f"msg_{n}", T0 + timedelta(hours=7 * n), appointment_id=f"apt_{n}"
                            )
                        ),
                        Put(
                            segment(
                                f"ses_{n}", T0 + timedelta(hours=7 * n), appointment_id=f"apt_{n}"
                            )
                        ),
                    )
                ],
            )
    finally:
        await store.close()


async def _snapshot(location: Path | str, key: Path) -> dict[str, list[object]]:
    store = store_at(location, keys=KeySource(key_file=key))
    await store.open()
    try:
        # By id: the embedded store lists a table in the order it was written.
        return {
            t: sorted(await store.all(kind), key=lambda r: str(getattr(r, "id", "")))
            for t, kind in TABLES.items()
        }
    finally:
        await store.close()


def _migrate(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tlh", "store", "migrate", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        check=False,
    )


def test_migrate_copies_every_record_and_the_audit_chain(tmp_path: Path, pg_url: str) -> None:
    data, key = _init(tmp_path, "alpha")
    asyncio.run(_fill(data, key, 300))
    before = asyncio.run(_snapshot(data, key))

    done = _migrate("--from", str(data), "--to", pg_url, "--key-file", str(key), "--json")

    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["verified"] is True
    assert summary["tables"]["appointments"] == {"data_dir": 300, "database": 300}
    assert summary["tables"]["messages"] == {"data_dir": 300, "database": 300}
    assert summary["tables"]["sessions"] == {"data_dir": 300, "database": 300}
    assert summary["audit_entries"]["data_dir"] == summary["audit_entries"]["database"] > 0
    assert asyncio.run(_snapshot(pg_url, key)) == before

    async def go_on() -> None:
        # The chain continues: a new commit on the database verifies with the copied log.
        store = store_at(pg_url, keys=KeySource(key_file=key))
        await store.open()
        try:
            new = Client(id="cli_new", name="New", created_at=T0, updated_at=T0)
            await seed(store, [Put(new)])
            assert (await store.verify_audit()).ok
            got = await store.appointments_between(T0, T0 + timedelta(days=1))
            assert [a.id for a in got] == ["apt_0", "apt_1", "apt_2", "apt_3"]
            assert [c.id for c in await store.find(Client, "email", "c7@x.example")] == ["cli_7"]
        finally:
            await store.close()

    asyncio.run(go_on())
    again = _migrate("--from", str(data), "--to", pg_url, "--key-file", str(key))
    assert again.returncode != 0
    assert again.stderr.strip().splitlines() == [
        f"error: the database at {summary['database']} holds this practice already (copied earlier)"
    ]


def _rows(pg_cluster: PgServer, url: str, table: str) -> int:
    dbname = url.rsplit("/", 1)[1].split("?")[0]
    return int(pg_cluster.sql(f"SELECT count(*) FROM {table}", dbname).strip() or 0)


def test_migrate_killed_mid_copy_finishes_when_run_again(
    tmp_path: Path, pg_cluster: PgServer
) -> None:
    data, key = _init(tmp_path, "beta")
    asyncio.run(_fill(data, key, 3000))
    url = pg_cluster.database()
    # A small batch makes the copy many transactions: the kill lands between two.
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tlh",
            "store",
            "migrate",
            "--from",
            str(data),
            "--to",
            url,
            "--key-file",
            str(key),
            "--batch",
            "20",
        ],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:  # wait until a part of the appointments is stored
            assert time.monotonic() < deadline, "the copy never started"
            assert proc.poll() is None, "the copy finished before it could be killed"
            try:
                if _rows(pg_cluster, url, "tlh_records") > 500:
                    break
            except RuntimeError:
                pass  # the schema is not made yet
            time.sleep(0.01)  # polling a row count, not waiting for time to pass
        proc.kill()
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    copied = _rows(pg_cluster, url, "tlh_records")
    assert 500 < copied < 3000

    async def refused() -> str:
        store = store_at(url, keys=KeySource(key_file=key))
        try:
            await store.open()
        except Exception as exc:
            return str(exc)
        await store.close()
        return ""

    assert "half-way through `tlh store migrate`" in asyncio.run(refused())

    done = _migrate("--from", str(data), "--to", url, "--key-file", str(key), "--json")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["resumed"] is True
    assert summary["verified"] is True
    assert summary["tables"]["appointments"] == {"data_dir": 3000, "database": 3000}
    assert asyncio.run(_snapshot(url, key)) == asyncio.run(_snapshot(data, key))
    # No duplicates: one index and calendar row set, exactly as a copy in one go makes.
    fresh = pg_cluster.database()
    assert _migrate("--from", str(data), "--to", fresh, "--key-file", str(key)).returncode == 0
    for table in ("tlh_records", "tlh_index", "tlh_calendar", "tlh_audit"):
        assert _rows(pg_cluster, url, table) == _rows(pg_cluster, fresh, table), table


def _one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


def _nothing_written(pg_cluster: PgServer, url: str) -> None:
    dbname = url.rsplit("/", 1)[1].split("?")[0]
    tables = pg_cluster.sql(
        "SELECT count(*) FROM information_schema.tables WHERE table_name LIKE 'tlh_%'", dbname
    )
    assert tables.strip() == "0"


def test_migrate_refuses_bad_input_in_one_line(tmp_path: Path, pg_cluster: PgServer) -> None:
    data, key = _init(tmp_path, "gamma")
    _, other_key = _init(tmp_path, "delta")
    url = pg_cluster.database()

    line = _one_line_error(_migrate("--from", str(data), "--to", "mysql://x/y"))
    assert "postgresql://" in line
    line = _one_line_error(
        _migrate("--from", str(data), "--to", "postgresql://127.0.0.1:1/x", "--key-file", str(key))
    )
    assert "127.0.0.1:1" in line
    line = _one_line_error(_migrate("--from", str(data), "--to", url, "--key-file", str(other_key)))
    assert "does not unlock" in line
    _nothing_written(pg_cluster, url)
    line = _one_line_error(_migrate("--from", str(tmp_path / "none"), "--to", url))
    assert "holds no practice" in line
    with DataDirLock(data):  # a running server holds it
        line = _one_line_error(_migrate("--from", str(data), "--to", url, "--key-file", str(key)))
    assert "in use by another tlh server" in line
    _nothing_written(pg_cluster, url)


def test_migrate_refuses_a_database_holding_another_practice(tmp_path: Path, pg_url: str) -> None:
    first, first_key = _init(tmp_path, "one")
    second, second_key = _init(tmp_path, "two")
    ok = _migrate("--from", str(first), "--to", pg_url, "--key-file", str(first_key))
    assert ok.returncode == 0, ok.stderr
    line = _one_line_error(
        _migrate("--from", str(second), "--to", pg_url, "--key-file", str(second_key))
    )
    assert "another practice" in line
    assert asyncio.run(_snapshot(pg_url, first_key)) == asyncio.run(_snapshot(first, first_key))


@pytest.mark.parametrize("args", [["--help"]])
def test_migrate_help_says_how(args: list[str]) -> None:
    result = CliRunner().invoke(app, ["store", "migrate", *args])
    assert result.exit_code == 0
    assert "kill -9" in result.stdout
