"""Every ``tlh`` command prints JSON with ``--json``, given before the command
(``tlh --json appt list``) or after it (``tlh appt list --json``).

One case per command, each run both ways against the real server with what it needs
made fresh (a command that cancels or revokes gets its own record each time). The walk
over the command tree fails when a command has no case here, so a new command cannot be
left out. The long-running ones (``serve``, ``demo``, ``room watch``) run as their own
processes below; the dashboard, which draws a screen, refuses ``--json`` in one line.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import signal
import subprocess
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import typer

from tests.pgserver import PgServer
from tests.serving import free_port
from tlh import tlscert
from tlh.cli.exit import ExitStatus
from tlh.cli.main import app
from tlh.client import TlhClient
from tlh.services.bootstrap import init_practice

from .conftest import Live
from .room_helpers import Booked, book, cli, link_token, waiting

pytestmark = pytest.mark.timeout(300)

#: Draws a screen: refuses --json (exit 2), tested below.
INTERACTIVE = {"dashboard"}
#: Run until stopped: tested in their own processes below.
LONG_RUNNING = {"serve", "demo", "room watch"}


def leaf_commands() -> set[str]:
    """Every runnable command, as ``"noun verb"``."""

    def walk(command: Any, path: tuple[str, ...]) -> list[str]:
        subs = getattr(command, "commands", None)
        if isinstance(subs, dict):
            return [n for name, sub in subs.items() for n in walk(sub, (*path, name))]
        return [" ".join(path)]

    return set(walk(typer.main.get_command(app), ()))


@dataclass
class Case:
    """One run of a command: its arguments, whose token, the exit codes it may end with."""

    argv: list[str]
    token: str | None = None
    codes: frozenset[int] = frozenset({0})


@dataclass
class World:
    """What the cases build on, and what they leave running (closed at the end)."""

    live: Live
    tmp: Path
    people: list[Any] = field(default_factory=list)
    #: The session's throw-away PostgreSQL (``tlh store migrate`` copies into it).
    pg: PgServer | None = None

    def name(self, prefix: str) -> str:
        return f"{prefix}-{secrets.token_hex(4)}"

    async def json(self, *argv: str, token: str | None = None) -> Any:
        done = await cli(self.live, *argv, "--json", token=token)
        assert done.exit_code == 0, (argv, done.stderr)
        return json.loads(done.stdout)

    async def waiting(self, booked: Booked) -> str:
        person = await waiting(self.live, booked.appt_id)
        self.people.append(person)
        return str(person.entry_id)

    def clinician(self, booked: Booked) -> TlhClient:
        return TlhClient(self.live.url, booked.clinician_token)

    async def staff(self) -> str:
        email = f"{self.name('staff')}@example.org"
        await self.json("staff", "add", email, "--name", "Sam Staff", "--role", "scheduler")
        return email


Builder = Callable[[World], Awaitable[Case]]
CASES: dict[str, Builder] = {}


def case(name: str) -> Callable[[Builder], Builder]:
    def register(build: Builder) -> Builder:
        CASES[name] = build
        return build

    return register


def simple(name: str, *argv: str, codes: frozenset[int] = frozenset({0})) -> None:
    async def build(world: World) -> Case:
        return Case(list(argv), codes=codes)

    CASES[name] = build


# -- local and admin --------------------------------------------------------------
simple("doctor", "doctor", codes=frozenset({0, 1}))
simple("turn config", "turn", "config", "--realm", "turn.example.org")
simple("practice show", "practice", "show")
simple("practice set", "practice", "set", "idle_logoff_min", "30")
simple("staff list", "staff", "list")
simple("staff show", "staff", "show", "admin@example.org")
simple("client list", "client", "list")
simple("appt export", "appt", "export", "--from", "2031-01-01", "--to", "2031-01-02")
simple("appt list", "appt", "list", "--date", "2031-01-01")
simple("availability list", "availability", "list")
simple("audit list", "audit", "list", "--limit", "5")
simple("audit export", "audit", "export")
simple("audit verify", "audit", "verify")
simple("consent export", "consent", "export")
simple("outbox list", "outbox", "list")
simple("report sessions", "report", "sessions", "--from", "2031-01-01")
simple("report attendance", "report", "attendance", "--from", "2031-01-01")
simple("room list", "room", "list")
simple("session list", "session", "list")


@case("login")
async def _login(w: World) -> Case:
    return Case(["login", "--url", w.live.url, "--token", w.live.token])


@case("backup")
async def _backup(w: World) -> Case:
    return Case(["backup", str(w.tmp / f"{w.name('backup')}.tar.gz")])


@case("init")
async def _init(w: World) -> Case:
    where = str(w.tmp / w.name("init"))
    return Case(["init", "--practice", "P", "--tz", "UTC", "--admin", "a@example.org",
                 "--data-dir", where, "--force"])  # fmt: skip


@case("restore")
async def _restore(w: World) -> Case:
    backup = w.tmp / f"{w.name('backup')}.tar.gz"
    assert (await cli(w.live, "backup", str(backup))).exit_code == 0
    return Case(["restore", str(backup), "--data-dir", str(w.tmp / w.name("restored"))])


async def _sealed_dir(w: World) -> tuple[str, str]:
    """A stopped encrypted practice of its own: (data dir, key file)."""
    from tlh.services.bootstrap import init_practice
    from tlh.store.keys import NewKeys

    where = w.tmp / w.name("sealed")
    key_file = w.tmp / f"{w.name('key')}.key"
    encrypt = NewKeys(key_file=key_file)
    await init_practice(where, "P", "UTC", "a@example.org", encrypt=encrypt)
    return str(where), str(key_file)


@case("key rotate")
async def _key_rotate(w: World) -> Case:
    where, key_file = await _sealed_dir(w)
    return Case(["key", "rotate", "--data-dir", where, "--key-file", key_file])


@case("key export-recovery")
async def _key_recovery(w: World) -> Case:
    where, key_file = await _sealed_dir(w)
    return Case(["key", "export-recovery", "--data-dir", where, "--key-file", key_file])


@case("store migrate")
async def _store_migrate(w: World) -> Case:
    where, key_file = await _sealed_dir(w)
    assert w.pg is not None
    return Case(
        ["store", "migrate", "--from", where, "--to", w.pg.database(), "--key-file", key_file]
    )


@case("templates export")
async def _templates(w: World) -> Case:
    return Case(["templates", "export", str(w.tmp / w.name("templates"))])


@case("cert renew")
async def _cert_renew(w: World) -> Case:
    folder = w.tmp / w.name("tls")
    tlscert.make(folder, tlscert.Names.parse(["tele.lan"]))
    return Case(["cert", "renew", "--dir", str(folder)])


@case("cert trust")
async def _cert_trust(w: World) -> Case:
    folder = w.tmp / w.name("tls")
    tlscert.make(folder, tlscert.Names.parse(["tele.lan"]))
    return Case(["cert", "trust", "--dir", str(folder)])


@case("service install")
async def _service_install(w: World) -> Case:
    data = w.tmp / w.name("service")
    await init_practice(data, "P", "UTC", "a@example.org")
    return Case(["service", "install", "--data-dir", str(data), "--user", "daemon",
                 "--unit-dir", str(w.tmp), "--name", w.name("tlh")])  # fmt: skip


# -- staff and clients ------------------------------------------------------------
@case("staff add")
async def _staff_add(w: World) -> Case:
    return Case(
        ["staff", "add", f"{w.name('s')}@example.org", "--name", "S", "--role", "scheduler"]
    )


@case("staff invite")
async def _staff_invite(w: World) -> Case:
    return Case(["staff", "invite", f"{w.name('i')}@example.org", "--name", "Ivy New"])


@case("staff update")
async def _staff_update(w: World) -> Case:
    return Case(["staff", "update", await w.staff(), "--name", "Renamed"])


@case("staff token")
async def _staff_token(w: World) -> Case:
    return Case(["staff", "token", await w.staff()])


@case("staff disable")
async def _staff_disable(w: World) -> Case:
    return Case(["staff", "disable", await w.staff()])


@case("client add")
async def _client_add(w: World) -> Case:
    return Case(["client", "add", "--name", w.name("Cal")])


@case("client show")
async def _client_show(w: World) -> Case:
    return Case(["client", "show", (await book(w.live)).client_id])


@case("client update")
async def _client_update(w: World) -> Case:
    return Case(["client", "update", (await book(w.live)).client_id, "--phone", "+12025550123"])


@case("client contact add")
async def _contact_add(w: World) -> Case:
    return Case(["client", "contact", "add", (await book(w.live)).client_id, "--name", "Pat"])


# -- appointments and availability ------------------------------------------------
@case("appt import")
async def _appt_import(w: World) -> Case:
    booked = await book(w.live)
    path = w.tmp / f"{w.name('import')}.csv"
    path.write_text(
        "external_id,client_name,clinician_email,start,duration_min\n"
        f"{w.name('ext')},Imported One,{booked.clinician_email},2033-02-01T09:00,50\n"
    )
    return Case(["appt", "import", str(path)])


@case("appt add")
async def _appt_add(w: World) -> Case:
    booked = await book(w.live)
    return Case(["appt", "add", "--client", booked.client_id, "--clinician",
                 booked.clinician_email, "--start", "2033-01-05T09:00", "--duration", "50"])  # fmt: skip


def _appt_case(verb: str, *rest: str) -> Builder:
    async def build(w: World) -> Case:
        return Case(["appt", verb, (await book(w.live)).appt_id, *rest])

    return build


CASES["appt show"] = _appt_case("show")
CASES["appt update"] = _appt_case("update", "--duration", "45")
CASES["appt status"] = _appt_case("status", "checked_in")
CASES["appt cancel"] = _appt_case("cancel")
CASES["appt explain"] = _appt_case("explain")  # book(): consented, confirmed, now


@case("availability set")
async def _availability_set(w: World) -> Case:
    booked = await book(w.live)
    argv = ["availability", "set", "--clinician", booked.clinician_email, "--weekday", "mon"]
    return Case([*argv, "--from", "09:00", "--to", "12:00"])


@case("availability remove")
async def _availability_remove(w: World) -> Case:
    booked = await book(w.live)
    block = await w.json("availability", "set", "--clinician", booked.clinician_email,
                   "--weekday", "tue", "--from", "09:00", "--to", "10:00")  # fmt: skip
    return Case(["availability", "remove", block["id"]])


# -- invitations, links, consent, outbox ------------------------------------------
@case("invite send")
async def _invite_send(w: World) -> Case:
    return Case(["invite", "send", (await book(w.live)).appt_id, "--email"])


@case("invite link")
async def _invite_link(w: World) -> Case:
    return Case(["invite", "link", (await book(w.live)).appt_id])


@case("invite quick")
async def _invite_quick(w: World) -> Case:
    booked = await book(w.live)
    return Case(["invite", "quick", booked.client_id, "--clinician", booked.clinician_email])


@case("invite guest")
async def _invite_guest(w: World) -> Case:
    return Case(["invite", "guest"], token=(await book(w.live)).clinician_token)


@case("invite website")
async def _invite_website(w: World) -> Case:
    return Case(["invite", "website"], token=(await book(w.live)).clinician_token)


@case("link list")
async def _link_list(w: World) -> Case:
    return Case(["link", "list", (await book(w.live)).appt_id])


@case("link revoke")
async def _link_revoke(w: World) -> Case:
    made = await w.json("invite", "link", (await book(w.live)).appt_id)
    return Case(["link", "revoke", made["link"]["id"]])


@case("link resend")
async def _link_resend(w: World) -> Case:
    sent = await w.json("invite", "send", (await book(w.live)).appt_id, "--email")
    return Case(["link", "resend", sent["links"][0]["id"]])


@case("consent send")
async def _consent_send(w: World) -> Case:
    return Case(["consent", "send", (await book(w.live)).client_id])


@case("consent record-verbal")
async def _consent_verbal(w: World) -> Case:
    booked = await book(w.live)  # no --by: the logged-in clinician attests
    argv = ["consent", "record-verbal", booked.client_id, "--note", "by phone"]
    return Case(argv, token=booked.clinician_token)


@case("consent status")
async def _consent_status(w: World) -> Case:
    return Case(["consent", "status", (await book(w.live)).client_id])


@case("consent revoke")
async def _consent_revoke(w: World) -> Case:
    return Case(["consent", "revoke", (await book(w.live)).client_id])


@case("portal invite")
async def _portal_invite(w: World) -> Case:
    return Case(["portal", "invite", (await book(w.live)).client_id])


@case("portal list")
async def _portal_list(w: World) -> Case:
    return Case(["portal", "list"])


@case("portal revoke")
async def _portal_revoke(w: World) -> Case:
    return Case(["portal", "revoke", (await book(w.live)).client_id])


@case("outbox show")
async def _outbox_show(w: World) -> Case:
    sent = await w.json("consent", "send", (await book(w.live)).client_id)
    return Case(["outbox", "show", sent["message"]["id"]])


# -- rooms, sessions, media -------------------------------------------------------
def _entry_case(verb: str, *rest: str, admitted: bool = False) -> Builder:
    async def build(w: World) -> Case:
        booked = await book(w.live)
        entry = await w.waiting(booked)
        if admitted:
            async with w.clinician(booked) as clinician:
                await clinician.rooms.admit(entry)
        return Case(["room", verb, entry, *rest], token=booked.clinician_token)

    return build


CASES["room admit"] = _entry_case("admit")
CASES["room deny"] = _entry_case("deny")
CASES["room return"] = _entry_case("return", admitted=True)
CASES["room message"] = _entry_case("message", "Running 5 minutes late")


simple("slots", "slots", "--from", "2031-01-06", "--to", "2031-01-07")
simple("reschedule list", "reschedule", "list", "--state", "all")


async def _reschedule_request(w: World) -> str:
    """A pending request: a visit three days ahead at 09:00, asked to move to 10:40."""
    from datetime import UTC, datetime, timedelta
    from zoneinfo import ZoneInfo

    tz = ZoneInfo("America/New_York")
    day = datetime.now(UTC).astimezone(tz).date() + timedelta(days=3)
    booked = await book(
        w.live, start=datetime.combine(day, datetime.min.time(), tz) + timedelta(hours=9)
    )
    for weekday in ("mon", "tue", "wed", "thu", "fri", "sat", "sun"):
        await w.json("availability", "set", "--clinician", booked.clinician_email,
                     "--weekday", weekday, "--from", "09:00", "--to", "12:00")  # fmt: skip
    await w.json("practice", "set", "self_scheduling", "clients")
    async with TlhClient(w.live.url, w.live.token) as admin:
        later = datetime.combine(day, datetime.min.time(), tz) + timedelta(hours=10, minutes=40)
        return (await admin.reschedule.ask(booked.appt_id, later)).id


@case("reschedule accept")
async def _reschedule_accept(w: World) -> Case:
    return Case(["reschedule", "accept", await _reschedule_request(w)])


@case("reschedule decline")
async def _reschedule_decline(w: World) -> Case:
    return Case(["reschedule", "decline", await _reschedule_request(w)])


@case("room transfer")
async def _room_transfer(w: World) -> Case:
    booked, other = await book(w.live), await book(w.live)
    entry = await w.waiting(booked)
    return Case(["room", "transfer", entry, "--to", other.clinician_email])


@case("room next")
async def _room_next(w: World) -> Case:
    booked = await book(w.live)
    await w.waiting(booked)
    return Case(["room", "next"], token=booked.clinician_token)


@case("room presence")
async def _room_presence(w: World) -> Case:
    return Case(["room", "presence", "online"], token=(await book(w.live)).clinician_token)


@case("session start")
async def _session_start(w: World) -> Case:
    booked = await book(w.live)
    argv = ["session", "start", booked.appt_id, "--no-browser"]
    return Case(argv, token=booked.clinician_token)


@case("session end")
async def _session_end(w: World) -> Case:
    booked = await book(w.live)
    async with w.clinician(booked) as clinician:
        await clinician.sessions.start(booked.appt_id)
    return Case(["session", "end", booked.appt_id], token=booked.clinician_token)


@case("media probe")
async def _media_probe(w: World) -> Case:
    # Nobody lets it in within half a second: the probe fails (exit 7) and still says
    # how far it got, as JSON.
    booked = await book(w.live)
    link = f"{w.live.url}/j#{await link_token(w.live, booked.appt_id)}"
    return Case(["media", "probe", link, "--wait", "0.5"], codes=frozenset({7}))


def test_every_command_has_a_case_here() -> None:
    assert leaf_commands() == set(CASES) | INTERACTIVE | LONG_RUNNING


@pytest.mark.parametrize("where", ["before", "after"])
async def test_every_command_prints_json(
    live: Live, tmp_path: Path, where: str, pg_cluster: PgServer
) -> None:
    world = World(live, tmp_path, pg=pg_cluster)
    problems = []
    try:
        for name, build in sorted(CASES.items()):
            made = await build(world)
            argv = ["--json", *made.argv] if where == "before" else [*made.argv, "--json"]
            done = await cli(live, *argv, token=made.token)
            try:
                json.loads(done.stdout)
            except ValueError:
                problems.append(f"{name}: not JSON: {done.stdout[:200]!r} {done.stderr[:200]!r}")
                continue
            if done.exit_code not in made.codes:
                problems.append(f"{name}: exit {done.exit_code}: {done.stderr[:300]!r}")
    finally:
        for person in world.people:
            await person.close()
    assert problems == []


@pytest.mark.parametrize("argv", [["--json", "dashboard"], ["dashboard", "--json"]])
def test_the_dashboard_refuses_json_in_one_line(live: Live, argv: list[str]) -> None:
    done = live.run(*argv)
    assert done.exit_code == ExitStatus.USAGE
    assert done.stdout == ""
    assert done.stderr.startswith("error: the dashboard is interactive")
    assert len(done.stderr.splitlines()) == 1


def _env(tmp: Path) -> dict[str, str]:
    return {**os.environ, "TMPDIR": str(tmp), "TLH_CONFIG": str(tmp / "config.toml")}


def _first_json_line(argv: list[str], env: dict[str, str]) -> dict[str, Any]:
    """Start ``tlh argv``, read its first stdout line as JSON, stop it like Ctrl-C."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "tlh", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()  # blocks until ready (or the process dies)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err.decode()[-500:]
    found: dict[str, Any] = json.loads(line)
    return found


@pytest.mark.parametrize("where", ["before", "after"])
def test_serve_says_where_it_listens_as_json(tmp_path: Path, where: str) -> None:
    env = _env(tmp_path)
    data = tmp_path / "data"
    made = subprocess.run(
        [sys.executable, "-m", "tlh", "--json", "init", "--practice", "P", "--tz", "UTC",
         "--admin", "a@example.org", "--data-dir", str(data)],
        capture_output=True, env=env, timeout=60, check=False,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    init = json.loads(made.stdout)
    assert set(init) >= {"token", "data_dir", "config_file"}
    assert init["data_dir"] == str(data)
    port = str(free_port())
    argv = ["serve", "--data-dir", str(data), "--port", port]
    said = _first_json_line(["--json", *argv] if where == "before" else [*argv, "--json"], env)
    assert said == {"url": f"http://127.0.0.1:{port}", "data_dir": str(data)}


@pytest.mark.parametrize("where", ["before", "after"])
def test_the_demo_says_how_to_use_it_as_json(tmp_path: Path, where: str) -> None:
    argv = ["demo", "--port", str(free_port())]
    said = _first_json_line(
        ["--json", *argv] if where == "before" else [*argv, "--json"], _env(tmp_path)
    )
    assert said["url"].startswith("http://127.0.0.1:")
    assert said["admin_token"].startswith("tlh_")
    assert said["join_url"].startswith(said["url"] + "/j#")
    assert any("appt list" in c for c in said["commands"])


@pytest.mark.parametrize("where", ["before", "after"])
async def test_room_watch_streams_json_lines(live: Live, where: str) -> None:
    booked = await book(live)
    argv = ["room", "watch", "--count", "1"]
    argv = ["--json", *argv] if where == "before" else [*argv, "--json"]
    watcher = asyncio.create_task(cli(live, *argv, token=booked.clinician_token))
    joined = []
    try:
        for _ in range(50):  # arrivals before the watcher connected are not shown
            joined.append(await waiting(live, booked.appt_id))
            done, _ = await asyncio.wait({watcher}, timeout=0.2)
            if done:
                break
        result = await asyncio.wait_for(watcher, 10)
    finally:
        for person in joined:
            await person.close()
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["type"].startswith("room.")
