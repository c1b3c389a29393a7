"""kill -9 the real server at random points during imports and single writes.

After every kill the data dir must load, every acknowledged write must be there, every
import must be wholly there or wholly absent, and ``tlh audit verify`` (with its check
of every stored change against the log) must pass. The server's log counts the commits
whose audit entries start-up had to add: kills that landed between a commit and its
audit write. Loopback only; bounded rounds. ``tests/integrity/test_kill_server.py``
runs a few rounds; ``bench/kill_server.py`` runs a hundred.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.serving import free_port, wait_healthy
from tlh.services.bootstrap import init_practice
from tlh.store.keys import NewKeys

ROWS_PER_IMPORT = 300
SERVER = (
    "import sys; from pathlib import Path; from tlh.server.run import serve; "
    "from tlh.server.settings import Settings; from tlh.store.keys import KeySource; "
    "key = Path(sys.argv[3]) if len(sys.argv) > 3 else None; "
    "serve(Settings(data_dir=Path(sys.argv[1]), port=int(sys.argv[2]), "
    "keys=KeySource(key_file=key)))"
)


def call(
    port: int, token: str, method: str, path: str, body: Any = None, ctype: str = "application/json"
) -> tuple[int, Any]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        data = (
            body
            if isinstance(body, bytes)
            else (json.dumps(body).encode() if body is not None else None)
        )
        headers = {"Authorization": f"Bearer {token}", "Content-Type": ctype}
        conn.request(method, path, body=data, headers=headers)
        response = conn.getresponse()
        raw = response.read()
        return response.status, json.loads(raw) if raw else None
    finally:
        conn.close()


def start(
    data_dir: Path, port: int, log: Path, key_file: Path | None = None
) -> subprocess.Popen[bytes]:
    # The log goes to a file: a pipe nobody reads fills up and stalls the server.
    key = [str(key_file)] if key_file is not None else []
    with log.open("ab") as sink:
        proc = subprocess.Popen(
            [sys.executable, "-c", SERVER, str(data_dir), str(port), *key],
            stdout=subprocess.DEVNULL,
            stderr=sink,
        )
    wait_healthy(f"http://127.0.0.1:{port}", proc, log=log, timeout_s=20)
    return proc


def import_csv(batch: int) -> bytes:
    lines = ["external_id,client_external_id,client_name,clinician_email,start,duration_min"]
    for n in range(ROWS_PER_IMPORT):
        day = 1 + (n % 28)
        minute = (batch * ROWS_PER_IMPORT + n) % (8 * 60)
        hour, mm = 8 + minute // 60, minute % 60
        month = 1 + (batch % 12)
        year = 2030 + batch // 12
        lines.append(
            f"b{batch}-{n},k{batch}-{n % 50},Client {n % 50},c{batch % 4}@example.org,"
            f"{year}-{month:02d}-{day:02d}T{hour:02d}:{mm:02d},1"
        )
    return ("\n".join(lines) + "\n").encode()


@dataclass
class KillSummary:
    kills: int
    imports_acknowledged: int
    commits_recovered: int
    seconds: float


RECOVERED = "audit log: recovering"


def run(
    rounds: int, seed: int = 7, root: Path | None = None, *, sealed: bool = False
) -> KillSummary:
    """Kill the server ``rounds`` times; raises ``AssertionError`` on any loss. ``sealed``:
    an encrypted data dir (as ``tlh init`` makes one), its key file beside it."""
    rng = random.Random(seed)
    data_dir = Path(tempfile.mkdtemp(prefix="tlh-kill-", dir=root)) / "data"
    log = data_dir.parent / "server.log"
    key_file = data_dir.parent / "practice.key" if sealed else None
    encrypt = NewKeys(key_file=key_file) if key_file else None
    token = asyncio.run(
        init_practice(data_dir, "Kill", "UTC", "admin@example.org", encrypt=encrypt)
    )
    port = free_port()
    proc = start(data_dir, port, log, key_file)
    for c in range(4):
        status, _ = call(
            port,
            token,
            "POST",
            "/api/v1/staff",
            {"email": f"c{c}@example.org", "name": f"C{c}", "role": "clinician"},
        )
        assert status == 201
    status, client = call(port, token, "POST", "/api/v1/clients", {"name": "Counter"})
    status, made = call(
        port,
        token,
        "POST",
        "/api/v1/appointments",
        {
            "client_ids": [client["id"]],
            "clinicians": ["c0@example.org"],
            "start": "2029-01-01T09:00",
            "duration_min": 10,
        },
    )
    counter_id = made["items"][0]["id"]
    acked_imports: set[int] = set()
    sent_imports: set[int] = set()
    acked_note = 0
    batch = 0
    kills = 0
    t0 = time.monotonic()
    while kills < rounds:
        stop = threading.Event()
        lock = threading.Lock()

        def importer(stop: threading.Event, lock: threading.Lock) -> None:
            nonlocal batch
            while not stop.is_set():
                with lock:
                    batch += 1
                    mine = batch
                sent_imports.add(mine)
                try:
                    status, _ = call(
                        port,
                        token,
                        "POST",
                        "/api/v1/appointments/import",
                        import_csv(mine),
                        "text/csv",
                    )
                except OSError:
                    return
                if status == 200:
                    acked_imports.add(mine)
                else:
                    raise SystemExit(f"import {mine} answered {status}")

        def writer(stop: threading.Event) -> None:
            nonlocal acked_note
            value = acked_note
            while not stop.is_set():
                value += 1
                try:
                    status, _ = call(
                        port,
                        token,
                        "PATCH",
                        f"/api/v1/appointments/{counter_id}",
                        {"notes": str(value)},
                    )
                except OSError:
                    return
                if status == 200:
                    acked_note = max(acked_note, value)

        threads = [
            threading.Thread(target=importer, args=(stop, lock)),
            threading.Thread(target=writer, args=(stop,)),
        ]
        for t in threads:
            t.start()
        time.sleep(rng.uniform(0.05, 0.6))  # the random kill point is the point of this bench
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        kills += 1
        stop.set()
        for t in threads:
            t.join(timeout=30)
        proc = start(data_dir, port, log, key_file)
        # Verify: every acknowledged write present; every import all or nothing; every
        # stored change audited.
        status, verdict = call(port, token, "GET", "/api/v1/audit/verify")
        assert status == 200, verdict
        assert verdict["ok"], verdict["problems"][:5]
        status, appt = call(port, token, "GET", f"/api/v1/appointments/{counter_id}")
        assert status == 200, "counter appointment lost"
        assert int(appt["notes"] or 0) >= acked_note, (
            f"acknowledged note {acked_note} lost (have {appt['notes']})"
        )
        # The list endpoint answers at most two years at a time; batch b is in year 2030 + b // 12.
        listed: list[dict[str, Any]] = []
        for year in range(2030, 2031 + max(sent_imports, default=0) // 12, 2):
            status, listing = call(
                port, token, "GET", f"/api/v1/appointments?from={year}-01-01&to={year + 1}-12-31"
            )
            assert status == 200, listing
            listed += listing["items"]
        present: dict[int, int] = {}
        for a in listed:
            ext = a.get("external_id") or ""
            if ext.startswith("b"):
                present[int(ext[1:].split("-")[0])] = present.get(int(ext[1:].split("-")[0]), 0) + 1
        for b in acked_imports:
            assert present.get(b) == ROWS_PER_IMPORT, (
                f"acknowledged import {b} has {present.get(b)} rows"
            )
        for b, n in present.items():
            assert n == ROWS_PER_IMPORT, f"import {b} is partial after a kill: {n} rows"
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=30)
    recovered = log.read_text(errors="replace").count(RECOVERED)
    return KillSummary(kills, len(acked_imports), recovered, time.monotonic() - t0)
