"""Debian's Caddy and nginx running the recipes in config/proxy/ on free loopback ports,
in front of a real ``tlh serve``.

The client connects from 127.0.0.2 (all of 127/8 is this machine), the proxy reaches
tlh from 127.0.0.1: so what tlh records as the client's address tells the two apart.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import ssl
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.serving import free_port
from tlh import tlscert
from tlh.services.bootstrap import init_practice

from .running import REPO, serving

RECIPES = REPO / "config" / "proxy"
CLIENT_ADDRESS = "127.0.0.2"


@dataclass
class Front:
    """A proxy in front of tlh: its https URL, the CA to trust, tlh's own URL and log."""

    kind: str
    url: str
    http_url: str
    context: ssl.SSLContext
    direct: str
    token: str
    log: Path

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


def missing(kind: str) -> str | None:
    """Why ``kind`` cannot run here (None: it can)."""
    if shutil.which(kind) is None:
        return f"{kind} is not installed (make browser installs Debian's caddy and nginx)"
    return None


def _wait_https(
    url: str, context: ssl.SSLContext, proc: subprocess.Popen[bytes], log: Path
) -> None:
    import urllib.request

    deadline = time.monotonic() + 30
    while True:
        if proc.poll() is not None:
            raise AssertionError(f"the proxy exited: {log.read_text(errors='replace')[-2000:]}")
        with (
            contextlib.suppress(OSError),
            urllib.request.urlopen(f"{url}/healthz", timeout=2, context=context) as r,
        ):
            if r.status == 200:
                return
        assert time.monotonic() < deadline, f"the proxy did not answer: {log.read_text()[-2000:]}"
        time.sleep(0.1)  # polling a port that is not open yet, bounded by the deadline


def _caddy(
    tmp: Path, https_port: int, http_port: int, upstream: int
) -> tuple[list[str], dict[str, str], Path]:
    env = {
        **os.environ,
        "HOME": str(tmp),
        "XDG_DATA_HOME": str(tmp / "data"),
        "XDG_CONFIG_HOME": str(tmp / "config"),
        "TLH_DOMAIN": "localhost",
        "TLH_HTTPS_PORT": str(https_port),
        "TLH_HTTP_PORT": str(http_port),
        "TLH_UPSTREAM": f"127.0.0.1:{upstream}",
        "CADDY_ADMIN": "off",
    }
    command = ["caddy", "run", "--config", str(RECIPES / "Caddyfile"), "--adapter", "caddyfile"]
    root = tmp / "data" / "caddy" / "pki" / "authorities" / "local" / "root.crt"
    return command, env, root


def _nginx(
    tmp: Path, https_port: int, http_port: int, upstream: int
) -> tuple[list[str], dict[str, str], Path]:
    issued = tlscert.make(tmp / "tls", tlscert.Names.parse(["localhost", "127.0.0.1"]))
    site = (RECIPES / "nginx.conf").read_text()
    for old, new in (
        ("tele.example.org", "localhost"),
        ("/etc/letsencrypt/live/localhost/fullchain.pem", str(issued.cert)),
        ("/etc/letsencrypt/live/localhost/privkey.pem", str(issued.key)),
        ("127.0.0.1:8765", f"127.0.0.1:{upstream}"),
        ("listen 80;", f"listen 127.0.0.1:{http_port};"),
        ("listen [::]:80;", f"listen [::1]:{http_port};"),
        ("listen 443 ssl", f"listen 127.0.0.1:{https_port} ssl"),
        ("listen [::]:443 ssl", f"listen [::1]:{https_port} ssl"),
    ):
        assert old in site, f"the nginx recipe no longer says {old!r}"
        site = site.replace(old, new)
    (tmp / "tlh.conf").write_text(site)
    temp = "\n".join(
        f"  {name}_temp_path {tmp / name};"
        for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    (tmp / "nginx.conf").write_text(
        f"daemon off;\nmaster_process off;\npid {tmp / 'nginx.pid'};\n"
        f"error_log {tmp / 'error.log'} warn;\nevents {{}}\n"
        f"http {{\n  access_log off;\n{temp}\n  include {tmp / 'tlh.conf'};\n}}\n"
    )
    return (
        ["nginx", "-c", str(tmp / "nginx.conf"), "-e", str(tmp / "error.log")],
        dict(os.environ),
        issued.ca,
    )


def _trusting(ca: Path, proc: subprocess.Popen[bytes], log: Path) -> ssl.SSLContext:
    """A client context trusting ``ca`` (Caddy writes its CA as it starts: waited for)."""
    deadline = time.monotonic() + 30
    while True:
        assert proc.poll() is None, log.read_text(errors="replace")[-2000:]
        with contextlib.suppress(OSError, ssl.SSLError):
            return ssl.create_default_context(cafile=str(ca))
        assert time.monotonic() < deadline, "the proxy made no CA"
        time.sleep(0.05)  # polling for a file, bounded by the deadline


@contextlib.contextmanager
def front(kind: str, tmp: Path) -> Iterator[Front]:
    """tlh serve behind ``kind`` (caddy or nginx) until the block ends."""
    https_port, http_port, tlh_port = free_port(), free_port(), free_port()
    public = f"https://localhost:{https_port}"
    data = tmp / "data"
    token = asyncio.run(init_practice(data, "Proxy Practice", "UTC", "admin@example.org"))
    (data / "tlh.toml").write_text(
        '[server]\ntrusted_proxies = ["127.0.0.1", "::1"]\n\n'
        f'[messaging]\npublic_url = "{public}"\nemail = "file"\nsms = "file"\n'
    )
    proxy_dir = tmp / kind
    proxy_dir.mkdir()
    build = _caddy if kind == "caddy" else _nginx
    command, env, ca = build(proxy_dir, https_port, http_port, tlh_port)
    proxy_log = proxy_dir / "proxy.log"
    with serving(data, port=tlh_port) as (_, direct, log), proxy_log.open("ab") as sink:
        proc = subprocess.Popen(command, env=env, stdout=sink, stderr=sink, cwd=proxy_dir)
        try:
            context = _trusting(ca, proc, proxy_log)
            _wait_https(public, context, proc, proxy_log)
            yield Front(kind, public, f"http://localhost:{http_port}", context, direct, token, log)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
