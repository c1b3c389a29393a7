"""Commands that work on a local data dir without a server: init, serve, demo, restore.

The only CLI module allowed to import the server, services and store (an
import-linter exception): always lazily, inside the commands, so that ``tlh --help``
and the client commands never pay for aiohttp or TinyDB.
"""

from __future__ import annotations

import contextlib
import shlex
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from tlh.cli.state import handled, state

if TYPE_CHECKING:
    from tlh.cli.output import Output
    from tlh.server.demo import DemoInfo
    from tlh.store.keys import KeySource, NewKeys

#: Signals that end the demo like Ctrl-C, so the demo data is removed (not SIGKILL).
_ENDINGS = (signal.SIGTERM, signal.SIGHUP)
#: Seconds the demo's server may take to seed and listen before the dashboard gives up.
STARTUP_S = 60.0


class LogFormat(StrEnum):
    """``tlh serve --log-format``."""

    text = "text"
    json = "json"


DataDirOpt = Annotated[
    Path | None,
    typer.Option("--data-dir", help="Data directory (default: TLH_DATA_DIR or the user data dir)."),
]
StoreOpt = Annotated[
    str | None,
    typer.Option(
        "--store",
        envvar="TLH_STORE",
        show_envvar=True,
        help="A postgresql:// URL: keep the practice in PostgreSQL, shared by several"
        " servers (default: the embedded store in the data dir). Put a password in"
        " ~/.pgpass, not the URL.",
    ),
]
KeyFileOpt = Annotated[
    Path | None,
    typer.Option(
        "--key-file",
        envvar="TLH_KEY_FILE",
        help="The data dir's key file (default: the one `tlh init` wrote in the config dir;"
        " TLH_PASSPHRASE instead for a practice locked by a passphrase).",
    ),
]


def _data_dir(given: Path | None) -> Path:
    from tlh.paths import default_data_dir

    return given if given is not None else default_data_dir()


def key_source(key_file: Path | None) -> KeySource:
    """Where a sealed data dir's key comes from: ``--key-file``/``TLH_KEY_FILE``, else
    ``TLH_PASSPHRASE``, else the key file ``tlh init`` wrote in the key dir."""
    import os

    from tlh.paths import default_key_dir
    from tlh.store.keys import KeySource

    passphrase = os.environ.get("TLH_PASSPHRASE") or None
    return KeySource(key_file=key_file, passphrase=passphrase, key_dir=default_key_dir())


def init(
    ctx: typer.Context,
    practice: Annotated[str, typer.Option("--practice", help="The practice's name.")],
    tz: Annotated[str, typer.Option("--tz", help="IANA time zone, e.g. America/New_York.")],
    admin: Annotated[str, typer.Option("--admin", help="Email of the first admin.")],
    admin_name: Annotated[str, typer.Option("--admin-name", help="The admin's name.")] = "Admin",
    data_dir: DataDirOpt = None,
    url: Annotated[
        str | None,
        typer.Option(
            "--url",
            help="Where this CLI reaches the server (saved with the token; default: TLH_URL"
            " or http://127.0.0.1:8765). A loopback URL's port is the one `tlh serve` uses.",
        ),
    ] = None,
    public_url: Annotated[
        str | None,
        typer.Option(
            "--public-url",
            help="Where links in emails and texts point: the address clients' browsers"
            " reach (asked when a terminal is attached; default: --url).",
        ),
    ] = None,
    force: Annotated[
        bool,
        typer.Option("--force", help="Replace the server and token the CLI has saved already."),
    ] = False,
    no_encrypt: Annotated[
        bool,
        typer.Option(
            "--no-encrypt",
            help="Store clients' data in clear (only on a disk that is encrypted itself:"
            " a copy of the data dir or a backup then gives away every record).",
        ),
    ] = False,
    key_file: Annotated[
        Path | None,
        typer.Option(
            "--key-file",
            help="Where to write the key file (default: keys/<id>.key in the config dir;"
            " an existing tlh key file is used as it is).",
        ),
    ] = None,
    passphrase: Annotated[
        bool,
        typer.Option(
            "--passphrase",
            help="Lock the data key with a passphrase (TLH_PASSPHRASE, else asked)"
            " instead of a key file; `tlh serve` then needs TLH_PASSPHRASE.",
        ),
    ] = False,
    store: StoreOpt = None,
) -> None:
    """Create a practice and its first admin in an empty data dir, write its tlh.toml,
    save the URL and admin token for the CLI; print the token and how to serve it.

    The data dir is encrypted: a random data key seals every file, and the key file
    (written 0600 outside the data dir, path printed) or passphrase unlocks it. With
    --store the practice goes into that PostgreSQL database instead (sealed the same
    way); the data dir then holds this server's tlh.toml, which names the database."""
    import asyncio

    out = state(ctx).out
    with handled(out):
        from tlh.cli import config
        from tlh.cli.invocation import tlh_command
        from tlh.cli.server_config import check_public_url, server_toml
        from tlh.services.bootstrap import init_practice

        where = _data_dir(data_dir).absolute()
        reached = url or state(ctx).url or config.DEFAULT_URL
        _may_replace_saved(out, force)
        encrypt = _new_keys(no_encrypt, key_file, passphrase)
        links_to = check_public_url(public_url or _ask_public_url(reached))
        store_url = _store_url(store)
        location = store_url or where
        if store_url is not None:
            where.mkdir(parents=True, exist_ok=True)
        token = asyncio.run(
            init_practice(location, practice, tz, admin, admin_name, encrypt=encrypt)
        )
        key_path = _key_file_of(location, encrypt)
        toml = where / "tlh.toml"
        wrote_toml = not toml.exists()
        if wrote_toml:
            _write_private(toml, server_toml(reached, links_to, store_url))
        path = config.save(reached, token)
        serve_cmd = f"{tlh_command()} serve --data-dir {shlex.quote(str(where))}"
        if key_file is not None:
            serve_cmd += f" --key-file {shlex.quote(str(key_path))}"
        if out.as_json:
            out.json(
                {
                    "token": token,
                    "data_dir": str(where),
                    "config_file": str(path),
                    "server_config": str(toml),
                    "url": reached,
                    "public_url": links_to,
                    "serve": serve_cmd,
                    "encrypted": encrypt is not None,
                    "key_file": str(key_path) if key_path else None,
                }
            )
        else:
            out.line(token)
        out.warn(f"this is the admin's API token, shown once; also saved to {path}")
        kept = "written" if wrote_toml else "kept as it was"
        out.note(f"practice created in {where}; its settings: {toml} ({kept})")
        _say_where_the_key_is(out, encrypt, key_path)
        out.note(f"start it with: {serve_cmd}")


def _new_keys(no_encrypt: bool, key_file: Path | None, passphrase: bool) -> NewKeys | None:
    """How ``tlh init`` locks the new practice (``None``: ``--no-encrypt``)."""
    from tlh.cli.exit import UsageError
    from tlh.paths import default_key_dir
    from tlh.store.keys import NewKeys

    if no_encrypt:
        if key_file is not None or passphrase:
            raise UsageError("--no-encrypt cannot go with --key-file or --passphrase")
        return None
    if passphrase:
        return NewKeys(key_file=key_file, passphrase=_new_passphrase("TLH_PASSPHRASE"))
    return NewKeys(key_dir=default_key_dir(), key_file=key_file)


def _new_passphrase(env: str) -> str:
    """A new passphrase from ``env``, else typed twice at a terminal."""
    import os

    from tlh.cli.exit import UsageError

    given = os.environ.get(env)
    if not given and _interactive():
        given = typer.prompt("Passphrase", hide_input=True, confirmation_prompt=True, err=True)
    if not given:
        raise UsageError(f"give the passphrase in {env} (no terminal to ask at)")
    if len(given) < 12:
        raise UsageError("the passphrase needs 12 characters or more")
    return given


def _key_file_of(location: Path | str, encrypt: NewKeys | None) -> Path | None:
    """The key file ``init`` wrote or used (``None``: not encrypted, or a passphrase)."""
    import asyncio

    from tlh.store.open import keyring_at

    if encrypt is None:
        return None
    if encrypt.key_file is not None:
        return encrypt.key_file.absolute()
    ring = asyncio.run(keyring_at(location))
    if ring is None or encrypt.key_dir is None or encrypt.passphrase:
        return None
    return (encrypt.key_dir / f"{ring.practice}.key").absolute()


def _say_where_the_key_is(out: Output, encrypt: NewKeys | None, key_path: Path | None) -> None:
    if encrypt is None:
        out.warn(
            "the data dir is NOT encrypted (--no-encrypt): anyone who copies it or a backup"
            " reads every client's record; rely on this only with full-disk encryption"
        )
    elif key_path is not None:
        out.note(
            f"the data dir is encrypted; its key file is {key_path}: keep a copy somewhere"
            " safe and apart from the data dir and its backups (without it the data cannot"
            " be read); `tlh key export-recovery` prints a recovery code for your safe"
        )
    else:
        out.note(
            "the data dir is encrypted under your passphrase: `tlh serve` needs it in"
            " TLH_PASSPHRASE; without it the data cannot be read (`tlh key export-recovery`"
            " prints a recovery code for your safe)"
        )


def _may_replace_saved(out: Output, force: bool) -> None:
    """Refuse (or, at a terminal, ask) before the CLI's saved server is replaced: every
    later command would go to the new one."""
    from tlh.cli import config
    from tlh.errors import Conflict

    saved = config.load()
    if force or not saved.token:
        return
    where = saved.url or config.DEFAULT_URL
    if _interactive():
        question = f"The CLI is set up for {where} ({config.config_path()}): replace it?"
        if typer.confirm(question, default=False, err=True):
            return
    raise Conflict(
        f"the CLI is already set up for {where} ({config.config_path()}): pass --force to"
        " replace it, or set TLH_CONFIG to another file for this practice"
    )


def _ask_public_url(default: str) -> str:
    """The public URL, asked at a terminal (links in every message point there)."""
    if not _interactive():
        return default
    answer: str = typer.prompt(
        "Public URL: where the links in emails and texts point (clients' browsers must reach it)",
        default=default,
        err=True,
    )
    return answer


def _interactive() -> bool:
    return sys.stdin.isatty() and sys.stderr.isatty()


def _write_private(path: Path, text: str) -> None:
    from tlh.cli.exports import write_file

    write_file(path, text.encode("utf-8"))


def serve(
    ctx: typer.Context,
    host: Annotated[
        str | None, typer.Option("--host", help="Address to listen on (default 127.0.0.1).")
    ] = None,
    port: Annotated[int | None, typer.Option("--port", help="TCP port (default 8765).")] = None,
    data_dir: DataDirOpt = None,
    config_file: Annotated[
        Path | None,
        typer.Option("--config", help="Server config (default: tlh.toml in the data dir, if any)."),
    ] = None,
    cert: Annotated[Path | None, typer.Option("--cert", help="TLS certificate (PEM).")] = None,
    key: Annotated[Path | None, typer.Option("--key", help="TLS private key (PEM).")] = None,
    insecure: Annotated[
        bool, typer.Option("--insecure", help="Allow plain HTTP off loopback (behind a TLS proxy).")
    ] = False,
    log_format: Annotated[
        LogFormat | None,
        typer.Option(
            "--log-format",
            help="The log on stderr: text, or json (one object per line, for journald or Loki).",
        ),
    ] = None,
    key_file: KeyFileOpt = None,
    store: StoreOpt = None,
) -> None:
    """Run the server on a data dir until Ctrl-C or SIGTERM (which drains: see README); an
    encrypted one with its key file or TLH_PASSPHRASE."""
    out = state(ctx).out
    with handled(out):
        from tlh.server.run import serve as run_server
        from tlh.server.settings import load_settings

        settings = load_settings(
            _data_dir(data_dir),
            config_file,
            host=host,
            port=port,
            cert=cert,
            key=key,
            insecure=insecure or None,
            log_format=log_format.value if log_format is not None else None,
            keys=key_source(key_file),
            store_url=_store_url(store),
        )

        def ready(url: str) -> None:
            if out.as_json:  # one line a supervisor can wait for
                out.json({"url": url, "data_dir": str(settings.data_dir)})
                out.flush()

        run_server(settings, on_ready=ready)


def practice_location(where: Path, store: str | None) -> Path | str:
    """Where the practice of the data dir ``where`` keeps its records: ``--store`` /
    TLH_STORE, else its tlh.toml's ``[store] url``, else the dir itself."""
    given = _store_url(store)
    if given is not None:
        return given
    from tlh.server.settings import load_settings

    return load_settings(where).store_url or where


def _store_url(given: str | None) -> str | None:
    """``--store`` checked (``InvalidInput`` names the option, never the URL)."""
    if given is None:
        return None
    from tlh.errors import InvalidInput
    from tlh.server.settings import check_store_url

    try:
        return check_store_url(given)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None


def demo(
    ctx: typer.Context,
    port: Annotated[int, typer.Option("--port", help="TCP port.")] = 8765,
    dashboard: Annotated[
        bool | None,
        typer.Option(
            "--dashboard/--no-dashboard",
            help="Open the clinician's dashboard (default: when run in a terminal, without"
            " --json).",
        ),
    ] = None,
) -> None:
    """Run a throw-away demo practice (seeded, deleted on exit) until Ctrl-C."""
    out = state(ctx).out
    if dashboard is None:
        dashboard = not out.as_json and sys.stdin.isatty() and sys.stdout.isatty()
    with handled(out), _make_hint():
        from tlh.cli import demo_text
        from tlh.cli.exports import write_file
        from tlh.cli.invocation import tlh_command
        from tlh.server.demo import run_demo

        tlh = tlh_command()
        started = threading.Event()
        seen: list[DemoInfo] = []

        def ready(info: DemoInfo) -> None:
            lines = demo_text.printout(info, tlh)
            write_file(demo_text.demo_file(info), "\n".join(lines).encode() + b"\n")
            if out.as_json:
                out.json(demo_text.as_json(info, tlh))
            else:
                for line in lines:
                    out.line(line)
            out.flush()
            seen.append(info)
            started.set()

        with _terminate_as_interrupt():
            if not dashboard:
                run_demo(on_ready=ready, port=port)
                return
            _demo_with_dashboard(run_demo, ready, started, seen, port, out)


@contextmanager
def _make_hint() -> Iterator[None]:
    """A busy port names ``make demo PORT=`` too (the README's way in)."""
    from tlh.server.run import PortInUse

    try:
        yield
    except PortInUse as exc:
        raise PortInUse(f"{exc.message} (with make: make demo PORT=N)") from None


@contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM and SIGHUP (a closed terminal, ``kill``) clean up like Ctrl-C does.

    They are turned into a SIGINT rather than a ``KeyboardInterrupt`` raised on the spot:
    under ``asyncio.run`` SIGINT cancels the main task cleanly, where an exception raised
    at a random point of the event loop can skip the clean-up.
    """

    def as_ctrl_c(signum: int, frame: object) -> None:
        signal.raise_signal(signal.SIGINT)

    kept = {sig: signal.signal(sig, as_ctrl_c) for sig in _ENDINGS}
    try:
        yield
    finally:
        for sig, handler in kept.items():
            signal.signal(sig, handler)


def _demo_with_dashboard(
    run_demo: Callable[..., None],
    ready: Callable[..., None],
    started: threading.Event,
    seen: list[DemoInfo],
    port: int,
    out: Output,
) -> None:
    """The server in a background thread (its own loop); the dashboard in front, signed in
    as the clinician of the session that can start now; then serve until Ctrl-C.

    ``started`` is set when the server is ready or has failed (a busy port): the failure
    is raised here at once, never after a minute's wait. The main thread waits on
    Events, never in ``Thread.join``: on Python 3.11 a Ctrl-C that interrupts
    ``join(timeout)`` marks the thread as stopped while it still runs (the bpo-45274
    handling in ``_wait_for_tstate_lock``), so the next join returns at once and the
    interpreter exits before the server removes the demo data.
    """
    from tlh.cli.demo_text import greeting
    from tlh.errors import TlhError

    stop = threading.Event()
    done = threading.Event()
    failed: list[BaseException] = []

    def serve() -> None:
        try:
            run_demo(on_ready=ready, port=port, stop=stop)
        except BaseException as exc:  # re-raised in the main thread, where it is shown
            failed.append(exc)
        finally:
            done.set()
            started.set()

    server = threading.Thread(target=serve, name="tlh-demo-server")
    server.start()
    try:
        if not started.wait(timeout=STARTUP_S):
            raise TlhError(f"the demo server did not start within {STARTUP_S:g} s")
        if failed:
            raise failed[0]
        if not seen or not seen[0].clinician_token:
            raise TlhError("the demo server stopped before it was ready")
        from tlh.cli.commands.dashboard import demo_dashboard

        info = seen[0]
        demo_dashboard(info.url, info.clinician_token, greeting(info))
        with contextlib.suppress(KeyboardInterrupt):
            out.line("the dashboard is closed; the demo server runs until Ctrl-C")
            out.flush()
            done.wait()
    finally:
        stop.set()  # the server stops and removes the demo data
        done.wait(timeout=30)


def restore(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="A backup made by `tlh backup`.")],
    data_dir: DataDirOpt = None,
    key_file: KeyFileOpt = None,
) -> None:
    """Replace a stopped server's data dir by a backup (the old files are kept aside).

    An encrypted practice's backup opens with the key file (or TLH_PASSPHRASE, or the
    recovery code in TLH_PASSPHRASE) that opened the dir when the backup was made."""
    out = state(ctx).out
    with handled(out):
        from tlh.store.backup import restore as restore_archive

        where = _data_dir(data_dir)
        aside = restore_archive(file, where, key_source(key_file))
        if out.as_json:
            out.json({"restored": str(file), "data_dir": str(where), "previous": str(aside)})
        else:
            out.note(f"restored {file}; the previous files are in {aside}")
