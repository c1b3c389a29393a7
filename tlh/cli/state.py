"""What the root callback hands every command, and the one place errors are turned
into a one-line message and an exit code."""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

import typer

from tlh.errors import TlhError, Unauthenticated

from .exit import ExitStatus, exit_status_for
from .output import Output

if TYPE_CHECKING:
    from tlh.client import TlhClient


@dataclass
class CliState:
    """Global options, resolved lazily (the config file is read only when needed)."""

    url: str | None
    token: str | None
    out: Output
    timeout: float = 30.0

    def connection(self) -> tuple[str, str]:
        """The server URL and token: options/env first, then the config file."""
        from . import config

        url, token = self.url, self.token
        if not url or not token:
            saved = config.load()
            url = url or saved.url or config.DEFAULT_URL
            token = token or saved.token
        if not token:
            raise Unauthenticated(
                "no API token: run `tlh login --url URL --token TOKEN` or set TLH_TOKEN"
            )
        return url, token

    def client(self) -> TlhClient:
        """A client for the configured server."""
        from tlh.client import TlhClient

        url, token = self.connection()
        return TlhClient(url, token, timeout=self.timeout)


def state(ctx: typer.Context) -> CliState:
    """The state the root callback stored (a default one when a command runs alone)."""
    found = ctx.find_root().obj
    if isinstance(found, CliState):
        return found
    fresh = CliState(os.environ.get("TLH_URL"), os.environ.get("TLH_TOKEN"), Output())
    ctx.find_root().obj = fresh
    return fresh


def debug() -> bool:
    """Whether tracebacks are wanted (``TLH_DEBUG=1``)."""
    return os.environ.get("TLH_DEBUG", "") not in ("", "0")


@contextmanager
def handled(out: Output) -> Iterator[None]:
    """Turn expected errors into ``error: <message>`` and the matching exit code."""
    try:
        yield
    except TlhError as exc:
        if debug():
            traceback.print_exc(file=sys.stderr)
        out.error(exc.message)
        raise typer.Exit(int(exit_status_for(exc))) from None
    except KeyboardInterrupt:
        out.error("interrupted")
        raise typer.Exit(int(ExitStatus.INTERRUPTED)) from None


def run(ctx: typer.Context, body: Callable[[TlhClient, Output], Awaitable[int | None]]) -> None:
    """Run ``body`` with a connected client; its return value (if any) is the exit code."""
    import asyncio  # ~20 ms: only commands that talk to a server pay for it

    st = state(ctx)

    async def go() -> int | None:
        async with st.client() as client:
            return await body(client, st.out)

    with handled(st.out):
        code = asyncio.run(go())
    if code:
        raise typer.Exit(code)


#: ``--json`` on a command; the root's ``tlh --json ...`` does the same.
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the API's JSON instead of a table.")]


def output(ctx: typer.Context, as_json: bool) -> CliState:
    """The state, with ``--json`` given on the command folded in."""
    st = state(ctx)
    st.out.as_json = st.out.as_json or as_json
    return st
