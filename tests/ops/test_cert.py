"""``tlh cert``: a LAN practice's own CA and server certificate, renewed without a new CA,
served by ``tlh serve --cert --key``; and every fault of a certificate in one line."""

from __future__ import annotations

import asyncio
import json
import socket
import ssl
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509

from tests.serving import free_port
from tlh import tlscert
from tlh.services.bootstrap import init_practice

from .running import serving, tlh, tlh_run

pytestmark = pytest.mark.timeout(90)


def make(folder: Path, *names: str) -> dict[str, str]:
    args = [a for n in names for a in ("--name", n)]
    done = tlh_run("cert", "--dir", str(folder), *args, "--json")
    assert done.returncode == 0, done.stderr
    made: dict[str, str] = json.loads(done.stdout)
    return made


def cert_of(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    path = tmp_path / "data"
    asyncio.run(init_practice(path, "LAN Practice", "UTC", "admin@example.org"))
    return path


def test_a_served_certificate_is_trusted_through_the_ca_alone(
    tmp_path: Path, data_dir: Path
) -> None:
    made = make(tmp_path / "tls", "localhost", "127.0.0.1")
    assert (tmp_path / "tls" / "ca-key.pem").stat().st_mode & 0o777 == 0o600
    assert Path(made["key"]).stat().st_mode & 0o777 == 0o600
    port = free_port()
    context = ssl.create_default_context(cafile=made["ca"])  # the CA, nothing else
    tls = ("--cert", made["cert"], "--key", made["key"])
    with serving(data_dir, *tls, port=port, context=context):
        for host in ("localhost", "127.0.0.1"):
            with urllib.request.urlopen(f"https://{host}:{port}/healthz", context=context) as r:
                assert r.status == 200


def test_running_again_or_renewing_keeps_the_ca(tmp_path: Path) -> None:
    folder = tmp_path / "tls"
    first = make(folder, "tele.lan", "192.168.1.10")
    ca_before = (folder / "ca.pem").read_bytes()
    serial = cert_of(folder / "server.pem").serial_number

    renewed = tlh_run("cert", "renew", "--dir", str(folder))
    assert renewed.returncode == 0, renewed.stderr
    assert "kept (devices that trust it need nothing new)" in renewed.stdout
    assert (folder / "ca.pem").read_bytes() == ca_before
    fresh = cert_of(folder / "server.pem")
    assert fresh.serial_number != serial
    assert tlscert.names_of(fresh).all() == ["tele.lan", "192.168.1.10"]

    again = make(folder, "tele.lan", "tele2.lan")
    assert again["ca_sha256"] == first["ca_sha256"]
    assert again["ca_created"] is False
    assert tlscert.names_of(cert_of(folder / "server.pem")).all() == ["tele.lan", "tele2.lan"]


def test_it_says_how_to_trust_the_ca_on_each_system(tmp_path: Path) -> None:
    folder = tmp_path / "tls"
    first = tlh_run("cert", "--dir", str(folder), "--name", "tele.lan")
    assert first.returncode == 0, first.stderr
    trust = tlh_run("cert", "trust", "--dir", str(folder))
    for said in (first.stdout, trust.stdout):
        for system in (
            "windows:",
            "macos:",
            "debian/ubuntu:",
            "firefox:",
            "ios/ipados:",
            "android:",
        ):
            assert system in said
        assert tlscert.fingerprint(cert_of(folder / "ca.pem")) in said


@pytest.mark.parametrize(
    ("args", "code", "says"),
    [
        ([], 5, "error: name the server: --name HOST or --name IP (as many as needed)"),
        (["--name", "bad name!"], 5, "error: 'bad name!' is neither an IP address nor a host name"),
        (["--name", "tele.lan", "--days", "900"], 5, "error: --days must be 1 to 825"),
        (["renew"], 3, "error: no certificate in"),
    ],
)
def test_bad_requests_are_one_line(tmp_path: Path, args: list[str], code: int, says: str) -> None:
    if args[:1] == ["renew"]:
        args = ["renew", "--dir", str(tmp_path / "none")]
    else:
        args = ["--dir", str(tmp_path / "tls"), *args]
    done = tlh_run("cert", *args)
    assert done.returncode == code
    assert done.stderr.startswith(says)
    assert len(done.stderr.strip().splitlines()) == 1


def refused(data_dir: Path, *args: str) -> tuple[int, str]:
    proc = tlh("serve", "--data-dir", str(data_dir), "--port", str(free_port()), *args)
    _, err = proc.communicate(timeout=60)
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err
    return proc.returncode, err.strip()


def test_a_key_of_another_certificate_is_refused(tmp_path: Path, data_dir: Path) -> None:
    one, other = make(tmp_path / "one", "localhost"), make(tmp_path / "two", "localhost")
    code, said = refused(data_dir, "--cert", one["cert"], "--key", other["key"])
    assert code == 5
    assert (
        said
        == f"error: the key {other['key']} does not belong to the certificate {one['cert']} (give the key made with it)"
    )


def test_an_expired_certificate_is_refused(tmp_path: Path, data_dir: Path) -> None:
    past = datetime.now(UTC) - timedelta(days=30)
    issued = tlscert.make(tmp_path / "old", tlscert.Names.parse(["localhost"]), now=past, days=10)
    code, said = refused(data_dir, "--cert", str(issued.cert), "--key", str(issued.key))
    assert code == 5
    assert said.startswith(f"error: the certificate {issued.cert} expired on ")
    assert said.endswith("renew it (`tlh cert renew`, or your CA's way)")


@pytest.mark.parametrize("broken", ["cert", "key", "missing"])
def test_unreadable_files_are_named(tmp_path: Path, data_dir: Path, broken: str) -> None:
    made = make(tmp_path / "tls", "localhost")
    cert, key = Path(made["cert"]), Path(made["key"])
    if broken == "cert":
        cert.write_text("not a certificate")
        expected = f"error: {cert} is not a PEM certificate"
    elif broken == "key":
        key.write_text("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
        expected = f"error: {key} is not a PEM private key"
    else:
        key.unlink()
        expected = f"error: the TLS key {key} does not exist"
    assert refused(data_dir, "--cert", str(cert), "--key", str(key)) == (5, expected)


def test_a_port_in_use_is_one_line_with_tls(tmp_path: Path, data_dir: Path) -> None:
    made = make(tmp_path / "tls", "localhost")
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        proc = tlh(
            "serve",
            "--data-dir",
            str(data_dir),
            "--port",
            str(port),
            "--cert",
            made["cert"],
            "--key",
            made["key"],
        )
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 4
    assert err.strip() == (
        f"error: port {port} on 127.0.0.1 is already in use (another tlh?): stop what holds it,"
        " or choose another port with --port"
    )
