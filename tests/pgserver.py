"""A throw-away PostgreSQL for tests and benches: Debian's server in a temp dir.

``initdb`` makes a cluster in a temp dir, ``pg_ctl`` starts it on a free loopback port
with its unix socket in that dir (never the system service, never the default port),
and stopping it removes the dir. PostgreSQL refuses to run as root, so as root the
cluster belongs to Debian's ``postgres`` user (made by the ``postgresql`` package).

``PgServer.database()`` makes a fresh, empty database per test from the cluster's
template, which takes tens of milliseconds, so one cluster serves a whole session.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from tests.serving import free_port

#: What ``make test`` installs (``apt-get install postgresql``).
HINT = "the tests need Debian's PostgreSQL: apt-get install postgresql (make test does)"


def pg_bin(name: str) -> str:
    """The path of a PostgreSQL server program (Debian keeps them off PATH)."""
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=_version)
    if found:
        return found[-1]
    on_path = shutil.which(name)
    if on_path is None:
        raise RuntimeError(f"{name} not found; {HINT}")
    return on_path


def _version(path: str) -> int:
    part = Path(path).parts[-3]
    return int(part) if part.isdigit() else 0


class PgServer:
    """One PostgreSQL cluster in a temp dir; ``start()``, then ``stop()``. ``durable``:
    fsync on, as a practice runs it (benches comparing with the embedded store's fsyncs)."""

    def __init__(self, *, durable: bool = False) -> None:
        self.durable = durable
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="tlh-pg-"))
        self.data = self.root / "data"
        self.socket_dir = self.root / "run"
        self._user: pwd.struct_passwd | None = None
        self._count = 0
        self._options = ""

    # -- lifecycle --------------------------------------------------------------------

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        kwargs: dict[str, object] = {}
        if self._user is not None:
            kwargs = {"user": self._user.pw_uid, "group": self._user.pw_gid, "extra_groups": []}
        return subprocess.run(  # type: ignore[call-overload,no-any-return]
            args,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            env={**os.environ, "LC_ALL": "C.UTF-8", "TZ": "UTC"},
            cwd=self.root,
            **kwargs,
        )

    def start(self) -> None:
        if os.geteuid() == 0:
            try:
                self._user = pwd.getpwnam("postgres")
            except KeyError:
                raise RuntimeError(f"no postgres user to run the server as; {HINT}") from None
            os.chown(self.root, self._user.pw_uid, self._user.pw_gid)
        self.socket_dir.mkdir()
        if self._user is not None:
            os.chown(self.socket_dir, self._user.pw_uid, self._user.pw_gid)
        done = self._run(
            pg_bin("initdb"),
            "-D",
            str(self.data),
            "-U",
            "tlh",
            "--auth=trust",
            "--encoding=UTF8",
            "--no-sync",
        )
        if done.returncode != 0:
            raise RuntimeError(f"initdb failed: {done.stderr.strip()[-800:]}")
        self._options = " ".join(
            [
                f"-p {self.port}",
                "-c listen_addresses=127.0.0.1",
                f"-c unix_socket_directories={self.socket_dir}",
                # A test cluster: durability is the store's job to ask for, not this
                # cluster's to prove, and fsync per commit would slow every test.
                *(
                    ()
                    if self.durable
                    else ("-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off")
                ),
                "-c max_connections=200",
                "-c shared_buffers=64MB",
            ]
        )
        self._start()

    def _start(self) -> None:
        done = self._run(
            pg_bin("pg_ctl"), "-D", str(self.data), "-o", self._options,
            "-l", str(self.root / "server.log"), "-w", "-t", "60", "start",
        )  # fmt: skip
        if done.returncode != 0:
            log = (self.root / "server.log").read_text(errors="replace")[-800:]
            raise RuntimeError(f"pg_ctl start failed: {done.stderr.strip()} {log}")

    def stop(self) -> None:
        if self.data.exists():
            self._run(pg_bin("pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)

    def kill(self) -> None:
        """Stop the server at once (what a crash looks like to its clients)."""
        self._run(pg_bin("pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def restart(self) -> None:
        """Start the server again after ``kill()`` (same port, same data: the same
        options as ``start``, which ``pg_ctl start`` does not remember)."""
        self._start()

    # -- databases --------------------------------------------------------------------

    def url(self, dbname: str = "postgres") -> str:
        """A libpq URL of ``dbname`` over TCP on loopback (what a practice configures)."""
        return f"postgresql://tlh@127.0.0.1:{self.port}/{dbname}"

    def database(self) -> str:
        """A new empty database; its URL."""
        self._count += 1
        name = f"t{os.getpid()}_{self._count}_{int(time.monotonic() * 1000) % 100000}"
        self.sql(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def sql(self, statement: str, dbname: str = "postgres") -> str:
        """Run one statement with psql; its output (fails the test on an error)."""
        done = self._run(
            pg_bin("psql") if Path(pg_bin("psql")).exists() else "psql",
            "-X",
            "-q",
            "-A",
            "-t",
            "-v",
            "ON_ERROR_STOP=1",
            "-h",
            str(self.socket_dir),
            "-p",
            str(self.port),
            "-U",
            "tlh",
            "-d",
            dbname,
            "-c",
            statement,
        )
        if done.returncode != 0:
            raise RuntimeError(f"psql failed: {done.stderr.strip()}")
        return done.stdout


@contextlib.contextmanager
def running(*, durable: bool = False) -> Iterator[PgServer]:
    """A started cluster, stopped and removed after (``durable``: see ``PgServer``)."""
    server = PgServer(durable=durable)
    try:
        server.start()
        yield server
    finally:
        server.stop()
