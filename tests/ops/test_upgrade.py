"""Upgrading tlh over an existing data dir: a start that finds an older schema keeps the
dir as it was first (a backup ``tlh restore`` takes), migrates, and says so; a dir from
a newer tlh is refused in one line and left as it is."""

from __future__ import annotations

import asyncio
import json
import tarfile
import urllib.request
from pathlib import Path

import pytest

from tlh.services.bootstrap import init_practice
from tlh.store.migrations import CURRENT_VERSION

from .running import serving, tlh, tlh_run

pytestmark = pytest.mark.timeout(120)


def add_client(url: str, token: str) -> str:
    request = urllib.request.Request(
        f"{url}/api/v1/clients",
        data=b'{"name": "Kept Across"}',
        method="POST",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as r:
        made: str = json.loads(r.read())["id"]
        return made


def client_ids(url: str, token: str) -> list[str]:
    request = urllib.request.Request(
        f"{url}/api/v1/clients", headers={"Authorization": f"Bearer {token}"}
    )
    with urllib.request.urlopen(request, timeout=10) as r:
        return [c["id"] for c in json.loads(r.read())["items"]]


def as_schema_1(data: Path) -> None:
    """What a data dir of schema 1 was: the same files, without the manifest (2 added it)."""
    for name in ("manifest.json", "manifest.json.bak"):
        (data / "db" / name).unlink(missing_ok=True)
    (data / "meta.json").write_text('{"schema_version": 1}')


def test_an_older_dir_is_backed_up_then_migrated_and_it_says_so(tmp_path: Path) -> None:
    data = tmp_path / "data"
    token = asyncio.run(init_practice(data, "Upgrade Practice", "UTC", "admin@example.org"))
    with serving(data) as (_, url, _):
        kept = add_client(url, token)
    as_schema_1(data)
    log = tmp_path / "upgrade.log"
    with serving(data, log=log) as (_, url, _):
        assert kept in client_ids(url, token)
    said = [line for line in log.read_text().splitlines() if "upgraded" in line]
    assert len(said) == 1
    backups = list((data / "backups").glob("*.tar.gz"))
    assert len(backups) == 1
    assert f"upgraded from schema 1 to {CURRENT_VERSION}; as it was before: {backups[0]}" in said[0]
    with tarfile.open(backups[0]) as tar:
        meta = tar.extractfile("meta.json")
        assert meta is not None
        assert json.loads(meta.read()) == {"schema_version": 1}
        names = tar.getnames()
    assert "db/clients.json" in names
    assert "audit/audit.jsonl" in names
    assert "db/manifest.json" not in names  # as it was: schema 1 had none
    assert json.loads((data / "meta.json").read_text())["schema_version"] == CURRENT_VERSION

    # The backup is a real one: restored, the old dir comes back and upgrades again.
    restored = tlh_run("restore", str(backups[0]), "--data-dir", str(data))
    assert restored.returncode == 0, restored.stderr
    assert json.loads((data / "meta.json").read_text()) == {"schema_version": 1}
    with serving(data) as (_, url, _):
        assert kept in client_ids(url, token)


def test_a_newer_dir_is_refused_in_one_line_and_left_alone(tmp_path: Path) -> None:
    data = tmp_path / "data"
    asyncio.run(init_practice(data, "Future Practice", "UTC", "admin@example.org"))
    newer = CURRENT_VERSION + 1
    (data / "meta.json").write_text(json.dumps({"schema_version": newer}))
    before = {p: p.read_bytes() for p in data.rglob("*") if p.is_file() and p.name != "tlh.lock"}
    proc = tlh("serve", "--data-dir", str(data), "--port", "0")
    _, err = proc.communicate(timeout=60)
    assert proc.returncode != 0
    assert err.strip() == (
        f"error: data dir {data} has schema version {newer}, newer than this tlh understands"
        f" ({CURRENT_VERSION}); upgrade tlh"
    )
    after = {p: p.read_bytes() for p in data.rglob("*") if p.is_file() and p.name != "tlh.lock"}
    assert after == before
    assert not (data / "backups").exists()
