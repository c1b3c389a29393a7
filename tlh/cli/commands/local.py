"""Commands that work on a local data dir without a server: init, serve, demo, restore.

The only CLI module allowed to import the server, services and store (an
import-linter exception): always lazily, inside the commands, so that ``tlh --help``
and the client commands never pay for aiohttp or TinyDB.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from tlh.cli.state import handled, state

if TYPE_CHECKING:
    from tlh.cli.output import Output

#: Signals that end the demo like Ctrl-C, so the demo data is removed (not SIGKILL).
_ENDINGS = (signal.SIGTERM, signal.SIGHUP)

DataDirOpt = Annotated[
    Path | None,
    typer.Option("--data-dir", help="Data directory (default: TLH_DATA_DIR or the user data dir)."),
]


def _data_dir(given: Path | None) -> Path:
    from tlh.paths import default_data_dir

    return given if given is not None else default_data_dir()


def init(
    ctx: typer.Context,
    practice: Annotated[str, typer.Option("--practice", help="The practice's name.")],
    tz: Annotated[str, typer.Option("--tz", help="IANA time zone, e.g. America/New_York.")],
    admin: Annotated[str, typer.Option("--admin", help="Email of the first admin.")],
    admin_name: Annotated[str, typer.Option("--admin-name", help="The admin's name.")] = "Admin",
    data_dir: DataDirOpt = None,
    url: Annotated[
        str, typer.Option("--url", help="URL the server will have (saved with the token).")
    ] = "http://127.0.0.1:8765",
) -> None:
    """Create a practice and its first admin in an empty data dir; print the admin's token."""
    import asyncio

    out = state(ctx).out
    with handled(out):
        from tlh.cli import config
        from tlh.services.bootstrap import init_practice

        where = _data_dir(data_dir)
        token = asyncio.run(init_practice(where, practice, tz, admin, admin_name))
        out.line(token)
        path = config.save(url, token)
        out.warn(f"this is the admin's API token, shown once; also saved to {path}")
        out.note(f"practice created in {where}; start it with `tlh serve`")


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
) -> None:
    """Run the server on a data dir until Ctrl-C."""
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
        )
        run_server(settings)


def demo(
    ctx: typer.Context,
    port: Annotated[int, typer.Option("--port", help="TCP port.")] = 8765,
    dashboard: Annotated[
        bool | None,
        typer.Option(
            "--dashboard/--no-dashboard",
            help="Open the clinician's dashboard (default: when run in a terminal).",
        ),
    ] = None,
) -> None:
    """Run a throw-away demo practice (seeded, deleted on exit) until Ctrl-C."""
    out = state(ctx).out
    if dashboard is None:
        dashboard = sys.stdin.isatty() and sys.stdout.isatty()
    with handled(out):
        from tlh.server.demo import run_demo

        ready_at = threading.Event()
        seen: dict[str, str] = {}

        def ready(url: str, token: str, hints: list[str], lead: str, join: str) -> None:
            seen.update(url=url, lead=lead, join=join)
            out.line(f"tlh demo running at {url}")
            out.line(f"admin token: {token}")
            out.line("try:")
            for hint in hints:
                out.line(f"  {hint}")
            sys.stdout.flush()
            ready_at.set()

        with _terminate_as_interrupt():
            if not dashboard:
                run_demo(on_ready=ready, port=port)
                return
            _demo_with_dashboard(run_demo, ready, ready_at, seen, port, out)


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
    ready_at: threading.Event,
    seen: dict[str, str],
    port: int,
    out: Output,
) -> None:
    """The server in a background thread (its own loop); the dashboard in front, signed in
    as the clinician of the session that can start now; then serve until Ctrl-C.

    The main thread waits on ``done`` (an Event), never in ``Thread.join``: on Python 3.11
    a Ctrl-C that interrupts ``join(timeout)`` marks the thread as stopped while it still
    runs (the bpo-45274 handling in ``_wait_for_tstate_lock``), so the next join returns
    at once and the interpreter exits before the server removes the demo data.
    """
    from tlh.errors import TlhError

    stop = threading.Event()
    done = threading.Event()

    def serve() -> None:
        try:
            run_demo(on_ready=ready, port=port, stop=stop)
        finally:
            done.set()

    server = threading.Thread(target=serve, name="tlh-demo-server")
    server.start()
    try:
        if not ready_at.wait(timeout=60) or not seen.get("lead"):
            raise TlhError("the demo server did not start; try `tlh demo --no-dashboard`")
        from tlh.cli.commands.dashboard import demo_dashboard

        demo_dashboard(seen["url"], seen["lead"], seen["join"])
        with contextlib.suppress(KeyboardInterrupt):
            out.line("the dashboard is closed; the demo server runs until Ctrl-C")
            sys.stdout.flush()
            done.wait()
    finally:
        stop.set()  # the server stops and removes the demo data
        done.wait(timeout=30)


def restore(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="A backup made by `tlh backup`.")],
    data_dir: DataDirOpt = None,
) -> None:
    """Replace a stopped server's data dir by a backup (the old files are kept aside)."""
    out = state(ctx).out
    with handled(out):
        from tlh.store.backup import restore as restore_archive

        aside = restore_archive(file, _data_dir(data_dir))
        out.note(f"restored {file}; the previous files are in {aside}")
