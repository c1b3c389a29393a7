"""What runs in the server's namespace: coturn (with ``tlh turn config``'s configuration),
``tlh serve`` over HTTPS on 443, and nginx in front of it on 8443 (a minimal config of its
own, written here). Each is a child process stopped in ``Servers.close``."""

from __future__ import annotations

import contextlib
import json
import os
import select
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import trustme

from .netns import SERVER_IP, TURN_IP, Topology

TURN_SECRET = "netns-suite-turn-secret"
PROXY_PORT = 8443
#: Seconds a server may take to start listening.
START_S = 30.0


@dataclass
class Servers:
    topo: Topology
    root: Path
    token: str = ""
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    ca: trustme.CA = field(default_factory=trustme.CA)

    @property
    def direct(self) -> str:
        return f"https://{SERVER_IP}"

    @property
    def proxied(self) -> str:
        return f"https://{SERVER_IP}:{PROXY_PORT}"

    def start(self) -> None:
        """Certificates, the practice, then coturn, tlh and nginx (each waited for)."""
        from tlh.services.bootstrap import init_practice

        cert = self.ca.issue_cert(SERVER_IP, TURN_IP)
        self.cert, self.key = self.root / "cert.pem", self.root / "key.pem"
        cert.cert_chain_pems[0].write_to_path(str(self.cert))
        for extra in cert.cert_chain_pems[1:]:
            extra.write_to_path(str(self.cert), append=True)
        cert.private_key_pem.write_to_path(str(self.key))
        data = self.root / "data"
        import asyncio

        self.token = asyncio.run(
            init_practice(data, "Netns Practice", "UTC", "admin@example.org", "Ada Admin")
        )
        (data / "tlh.toml").write_text(
            "[server]\n"
            f'allowed_origins = ["{self.proxied}"]\n'
            "[messaging]\n"
            f'public_url = "{self.direct}"\n'
            "[rooms]\n"
            f'ice_servers = [{{ urls = ["stun:{TURN_IP}:3478"] }}]\n'
            "[turn]\n"
            f'urls = ["turn:{TURN_IP}:3478?transport=udp", "turns:{TURN_IP}:443?transport=tcp"]\n'
            f'secret = "{TURN_SECRET}"\n'
        )
        self._coturn(data / "tlh.toml")
        self._tlh(data)
        self._nginx()

    def _spawn(self, *argv: str, stdout: int | None = None) -> subprocess.Popen[bytes]:
        log = open(self.root / f"{Path(argv[0]).name}.log", "ab")  # noqa: SIM115 (the child's)
        proc = subprocess.Popen(
            ["ip", "netns", "exec", self.topo.server, *argv],
            stdout=stdout if stdout is not None else log,
            stderr=log,
            env={**os.environ, "TLH_LOG_LEVEL": "INFO"},
        )
        log.close()
        self.procs.append(proc)
        return proc

    def _coturn(self, toml: Path) -> None:
        """coturn with the configuration ``tlh turn config`` prints for this tlh.toml."""
        made = subprocess.run(
            [
                sys.executable,
                "-m",
                "tlh",
                "turn",
                "config",
                "--config",
                str(toml),
                "--realm",
                TURN_IP,
                "--cert",
                str(self.cert),
                "--key",
                str(self.key),
                "--min-port",
                "49152",
                "--max-port",
                "49999",
            ],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )
        conf = self.root / "turnserver.conf"
        # tlh has 443 on the other address: coturn takes its own (as on a second IP).
        conf.write_text(
            made.stdout + f"listening-ip={TURN_IP}\nrelay-ip={TURN_IP}\n"
            f"pidfile={self.root / 'turn.pid'}\n"
        )
        binary = shutil.which("turnserver") or "/usr/bin/turnserver"
        proc = self._spawn(binary, "-c", str(conf))
        self._wait_tcp(proc, binary, TURN_IP, 443)

    def _tlh(self, data: Path) -> None:
        """``tlh serve`` as a practice runs it, on 443 with its certificate."""
        proc = self._spawn(
            sys.executable, "-m", "tlh", "--json", "serve", "--data-dir", str(data),
            "--host", SERVER_IP, "--port", "443", "--cert", str(self.cert),
            "--key", str(self.key),
            stdout=subprocess.PIPE,
        )  # fmt: skip
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], START_S)
        line = proc.stdout.readline() if ready else b""
        if not line:
            raise AssertionError(f"tlh serve did not start: {self._log('python')}")
        assert json.loads(line)["url"].startswith("https://")

    def _nginx(self) -> None:
        """nginx terminating TLS on 8443 and passing requests and websockets to tlh."""
        prefix = self.root / "nginx"
        prefix.mkdir()
        conf = prefix / "nginx.conf"
        conf.write_text(
            f"pid {prefix}/nginx.pid;\nerror_log {prefix}/error.log;\n"
            "events { worker_connections 256; }\n"
            "http {\n"
            f" access_log off;\n client_body_temp_path {prefix};\n proxy_temp_path {prefix};\n"
            " map $http_upgrade $connection_upgrade { default upgrade; '' close; }\n"
            " server {\n"
            f"  listen {SERVER_IP}:{PROXY_PORT} ssl;\n"
            f"  ssl_certificate {self.cert};\n  ssl_certificate_key {self.key};\n"
            "  location / {\n"
            f"   proxy_pass https://{SERVER_IP}:443;\n"
            "   proxy_http_version 1.1;\n"
            "   proxy_set_header Host $http_host;\n"
            "   proxy_set_header Upgrade $http_upgrade;\n"
            "   proxy_set_header Connection $connection_upgrade;\n"
            "   proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n"
            "   proxy_set_header X-Forwarded-Proto $scheme;\n"
            "   proxy_read_timeout 120s;\n"
            "  }\n"
            " }\n"
            "}\n"
        )
        binary = shutil.which("nginx") or "/usr/sbin/nginx"
        proc = self._spawn(binary, "-p", str(prefix), "-c", str(conf), "-g", "daemon off;")
        self._wait_tcp(proc, binary, SERVER_IP, PROXY_PORT)

    def _wait_tcp(self, proc: subprocess.Popen[bytes], name: str, host: str, port: int) -> None:
        import socket

        from .netns import in_namespace

        def connects() -> bool:
            with socket.socket() as probe:
                probe.settimeout(1)
                return probe.connect_ex((host, port)) == 0

        deadline = time.monotonic() + START_S
        while not in_namespace(self.topo.server, connects):
            assert proc.poll() is None, f"{name} exited: {self._log(name)}"
            assert time.monotonic() < deadline, f"nothing listens on {host}:{port}"
            time.sleep(0.1)  # polling a port that is not open yet, bounded by the deadline

    def _log(self, name: str) -> str:
        path = self.root / f"{Path(name).name}.log"
        return path.read_text(errors="replace")[-2000:] if path.exists() else ""

    def close(self) -> None:
        """Stop every child: SIGTERM, then SIGKILL after 10 s."""
        for proc in reversed(self.procs):
            with contextlib.suppress(ProcessLookupError):
                proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        self.procs.clear()
