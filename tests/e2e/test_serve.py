"""`tlh serve` as a real process: one server per data dir, corrupt files, TLS, the access log."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import ssl
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.keepalive import idle_connections_closed
from tests.serving import free_port, stop, wait_healthy
from tlh.client import TlhClient
from tlh.services.bootstrap import init_practice

pytestmark = pytest.mark.timeout(90)


def tlh(*args: str, **kw: object) -> subprocess.Popen[str]:
    env = {**os.environ, "TLH_CONFIG": os.devnull}
    return subprocess.Popen(
        [sys.executable, "-m", "tlh", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        **kw,  # type: ignore[call-overload]
    )


@contextlib.contextmanager
def running(
    *args: str, url_scheme: str = "http", context: ssl.SSLContext | None = None
) -> Iterator[tuple[subprocess.Popen[str], str]]:
    port = free_port()
    proc = tlh("serve", "--port", str(port), *args)
    url = f"{url_scheme}://127.0.0.1:{port}"
    try:
        wait_healthy(url, proc, context=context, timeout_s=20)
        yield proc, url
    finally:
        stop(proc)


@pytest.fixture
def data_dir(tmp_path: Path) -> tuple[Path, str]:
    path = tmp_path / "data"
    token = asyncio.run(init_practice(path, "E2E", "UTC", "admin@example.org"))
    return path, token


def test_second_server_on_the_same_dir_is_refused(data_dir: tuple[Path, str]) -> None:
    path, _ = data_dir
    with running("--data-dir", str(path)):
        second = tlh("serve", "--port", str(free_port()), "--data-dir", str(path))
        _out, err = second.communicate(timeout=30)
        assert second.returncode != 0
        assert "in use by another tlh server" in err
        assert "Traceback" not in err
        assert len(err.strip().splitlines()) == 1


def test_corrupt_file_stops_start_up_and_is_left_alone(data_dir: tuple[Path, str]) -> None:
    path, token = data_dir
    with running("--data-dir", str(path)) as (_, url):  # a clean stop folds the journal into files
        request = urllib.request.Request(
            f"{url}/api/v1/clients",
            data=b'{"name": "Kept"}',
            method="POST",
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as r:
            assert r.status == 201
    victim = path / "db" / "clients.json"
    victim.write_bytes(victim.read_bytes()[:-7])
    before = victim.read_bytes()
    proc = tlh("serve", "--port", str(free_port()), "--data-dir", str(path))
    _, err = proc.communicate(timeout=30)
    assert proc.returncode != 0
    assert "clients.json" in err
    assert ".bak" in err
    assert "Traceback" not in err
    assert victim.read_bytes() == before


def test_plain_http_off_loopback_is_refused(data_dir: tuple[Path, str]) -> None:
    path, _ = data_dir
    proc = tlh("serve", "--host", "0.0.0.0", "--port", str(free_port()), "--data-dir", str(path))
    _, err = proc.communicate(timeout=30)
    assert proc.returncode != 0
    assert "--cert" in err
    assert "--insecure" in err


def test_exported_templates_are_checked_when_the_server_starts(
    data_dir: tuple[Path, str], tmp_path: Path
) -> None:
    """The admin's path: ``tlh templates export DIR``, name DIR in tlh.toml, start. A copy
    as exported serves; a placeholder that does not exist stops start-up in one line."""
    path, _ = data_dir
    templates = tmp_path / "templates"
    exported = tlh("templates", "export", str(templates))
    _, err = exported.communicate(timeout=30)
    assert exported.returncode == 0, err
    (path / "tlh.toml").write_text(f"[messaging]\ntemplates_dir = {json.dumps(str(templates))}\n")
    with running("--data-dir", str(path)):
        pass  # healthy on the exported copy
    sms = templates / "reminder_soon.sms.txt"
    sms.write_text(sms.read_text(encoding="utf-8") + "Wear {favourite_colour}.\n", "utf-8")
    proc = tlh("serve", "--port", str(free_port()), "--data-dir", str(path))
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 5  # invalid input
    assert err.startswith("error: reminder_soon.sms.txt line ")
    assert "unknown placeholder {favourite_colour}" in err
    assert err.count("\n") == 1
    assert "Traceback" not in err


def test_tls_serves_https(data_dir: tuple[Path, str], tmp_path: Path) -> None:
    path, _ = data_dir
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
        timeout=30,
    )
    context = ssl.create_default_context(cafile=str(cert))
    with (
        running(
            "--data-dir",
            str(path),
            "--cert",
            str(cert),
            "--key",
            str(key),
            url_scheme="https",
            context=context,
        ) as (_, url),
        urllib.request.urlopen(f"{url}/healthz", timeout=5, context=context) as r,
    ):
        assert json.loads(r.read())["ok"] is True


def test_access_log_drops_query_strings(data_dir: tuple[Path, str]) -> None:
    path, token = data_dir
    with running("--data-dir", str(path)) as (proc, url):
        request = urllib.request.Request(
            f"{url}/api/v1/appointments?date=2030-01-01&marker=sensitive-value",
            headers={"Authorization": f"Bearer {token}"},
        )
        with urllib.request.urlopen(request, timeout=10) as r:
            assert r.status == 200
    _, err = proc.communicate(timeout=10)
    assert "GET /api/v1/appointments" in err
    assert "sensitive-value" not in err
    assert "marker" not in err
    assert token not in err


def test_a_change_after_a_quiet_spell_goes_through_once(data_dir: tuple[Path, str]) -> None:
    """The dashboard's first admit after a quiet minute: ``tlh serve`` has closed the
    client's idle connection (keep-alive shortened from 75 s to 1 s in its config), and
    the next POST still reaches it, once."""
    path, token = data_dir
    (path / "tlh.toml").write_text("[limits]\nkeepalive_timeout_s = 1\n", encoding="utf-8")

    async def quiet_then_change(url: str) -> int:
        async with TlhClient(url, token) as client:
            assert await client.clients.list() == []
            await idle_connections_closed(url)
            await client.clients.add("Quiet Spell")
            return len(await client.clients.list())

    with running("--data-dir", str(path)) as (_, url):
        assert asyncio.run(quiet_then_change(url)) == 1


def _import_rows(batch: int, rows: int) -> bytes:
    lines = ["external_id,client_external_id,client_name,clinician_email,start,duration_min"]
    for n in range(rows):
        lines.append(
            f"k{batch}-{n},c{n % 40},Client {n % 40},lee@example.org,"
            f"{2031 + batch}-01-{1 + n // 60 % 28:02d}T{8 + n % 60 // 6:02d}:{n % 6 * 10:02d},10"
        )
    return ("\n".join(lines) + "\n").encode()


def _post(url: str, token: str, path: str, body: bytes, ctype: str) -> int:
    request = urllib.request.Request(
        f"{url}{path}",
        data=body,
        method="POST",
        headers={"Authorization": f"Bearer {token}", "Content-Type": ctype},
    )
    with urllib.request.urlopen(request, timeout=30) as r:
        return int(r.status)


def test_kill_mid_import_leaves_it_whole_or_absent(data_dir: tuple[Path, str]) -> None:
    import random
    import threading

    path, token = data_dir
    rng = random.Random(11)
    with running("--data-dir", str(path)) as (_, url):
        _post(
            url,
            token,
            "/api/v1/staff",
            b'{"email": "lee@example.org", "name": "Lee", "role": "clinician"}',
            "application/json",
        )
    rows = 1500
    for batch in range(3):
        port = free_port()
        proc = tlh("serve", "--port", str(port), "--data-dir", str(path))
        url = f"http://127.0.0.1:{port}"
        wait_healthy(url, proc)
        acked = threading.Event()

        def send(batch: int = batch, url: str = url, acked: threading.Event = acked) -> None:
            with contextlib.suppress(OSError):
                if (
                    _post(
                        url,
                        token,
                        "/api/v1/appointments/import",
                        _import_rows(batch, rows),
                        "text/csv",
                    )
                    == 200
                ):
                    acked.set()

        sender = threading.Thread(target=send)
        sender.start()
        time.sleep(rng.uniform(0.05, 0.4))  # the kill lands at a random point: that is the test
        proc.kill()
        proc.communicate(timeout=10)
        sender.join(timeout=30)
        with running("--data-dir", str(path)) as (_, url2):
            request = urllib.request.Request(
                f"{url2}/api/v1/appointments?from={2031 + batch}-01-01&to={2031 + batch}-01-31",
                headers={"Authorization": f"Bearer {token}"},
            )
            with urllib.request.urlopen(request, timeout=10) as r:
                items = json.loads(r.read())["items"]
        assert len(items) in (0, rows), f"import {batch} is partial: {len(items)} rows"
        if acked.is_set():
            assert len(items) == rows


def _chunked_post(url: str, path: str, headers: dict[str, str], total: int) -> tuple[int, bytes]:
    """POST ``total`` bytes chunked; the bytes that went out before the server stopped
    taking them, and its answer (read after a reset too: the kernel keeps it)."""
    host, port = url.removeprefix("http://").split(":")
    lines = [f"POST {path} HTTP/1.1", f"Host: {host}:{port}", "Transfer-Encoding: chunked"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    chunk = b" " * 65536
    sent = 0
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        try:
            sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
            while sent < total:
                sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                sent += len(chunk)
            sock.sendall(b"0\r\n\r\n")
        except OSError:
            pass  # the server closed the connection
        answer = b""
        with contextlib.suppress(OSError):
            while data := sock.recv(65536):
                answer += data
    return sent, answer


def test_a_chunked_body_past_the_limit_is_413_and_not_read(data_dir: tuple[Path, str]) -> None:
    """Issue 19, item 7, as it was found: 60 MB chunked to the 4 KiB link redemption."""
    path, _ = data_dir
    with running("--data-dir", str(path)) as (proc, url):
        sent, answer = _chunked_post(
            url,
            "/api/v1/link/redeem",
            {"Origin": url, "Content-Type": "application/json"},
            60 * 1024 * 1024,
        )
        with urllib.request.urlopen(f"{url}/healthz", timeout=10) as r:
            assert r.status == 200
    _, err = proc.communicate(timeout=10)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:100]
    assert b'"too_large"' in answer
    assert sent < 12 * 1024 * 1024, f"the server took in {sent} bytes"
    assert "Traceback" not in err
