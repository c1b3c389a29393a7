"""``tlh media probe``: join a call through a link as a headless participant and report.

aiortc and PyAV cost far more to import than the rest of the CLI together, so
``tlh.media`` is imported inside the command only (``tlh --help`` stays fast).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import urlsplit

import typer

from tlh.cli.exit import ExitStatus
from tlh.cli.output import Output, clean
from tlh.cli.state import JsonOpt, handled, output
from tlh.errors import InvalidInput, TlhError

if TYPE_CHECKING:
    from tlh.media.participant import Participant

app = typer.Typer(help="Check calls from the shell with a headless participant.")


def split_link(link: str) -> tuple[str, str]:
    """``https://HOST/j#TOKEN`` → (``https://HOST``, TOKEN); the token is never shown."""
    parts = urlsplit(link.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc or not parts.fragment:
        raise InvalidInput("the link must look like https://HOST/j#TOKEN")
    return f"{parts.scheme}://{parts.netloc}", parts.fragment


def _describe(state: str, details: dict[str, Any]) -> str:
    extra = []
    if details.get("position"):
        extra.append(f"position {details['position']}")
    for key in ("peers", "peer_joined", "peer_left", "media", "code", "signal_error"):
        if details.get(key) is not None:
            extra.append(f"{key.replace('_', ' ')} {clean(details[key])}")
    if details.get("message"):
        extra.append("message from the clinician")
    return state + (f" ({', '.join(extra)})" if extra else "")


async def probe_run(
    participant: Participant, wait_s: float, seconds: float
) -> tuple[bool, dict[str, Any], TlhError | None]:
    """Join, wait for admission and a connection, stay ``seconds``; whether media flowed,
    the summary taken before leaving, and what stopped the probe early (if anything)."""
    from tlh.errors import TlhError, Unavailable

    failure: TlhError | None = None
    try:
        await participant.start()
        await participant.wait_state("admitted", "in_session", within=wait_s)
        await participant.wait_connected(1, within=15.0)
        await participant.wait_frames(1, within=15.0)
        if seconds > 0:
            await participant.wait_for(
                lambda: participant.state in ("ended", "denied"), seconds, "the call's end"
            )
    except TlhError as exc:
        # Staying the whole --seconds is the normal end of a probe, not a failure.
        if not (isinstance(exc, Unavailable) and "the call's end" in exc.message):
            failure = exc
    finally:
        summary = participant.summary()
        await participant.leave()
    received = any(sum(p["frames_received"].values()) > 0 for p in summary["peers"])
    return received, summary, failure


def _summary_lines(out: Output, summary: dict[str, Any]) -> None:
    out.fields(
        [
            ("state", summary["state"]),
            ("admitted after", _secs(summary["admitted_after_s"])),
            ("connected after", _secs(summary["connected_after_s"])),
            ("peers", len(summary["peers"])),
        ]
    )
    out.table(
        ("peer", "state", "frames sent", "audio received", "video received"),
        [
            (
                p["peer_id"],
                p["state"],
                p["frames_sent"],
                p["frames_received"].get("audio", 0),
                p["frames_received"].get("video", 0),
            )
            for p in summary["peers"]
        ],
    )


def _secs(value: float | None) -> str:
    return "" if value is None else f"{value:.3f} s"


@app.command("probe")
def probe(
    ctx: typer.Context,
    link: Annotated[
        str | None, typer.Argument(help="A join link https://HOST/j#TOKEN (or --staff).")
    ] = None,
    seconds: Annotated[
        float, typer.Option("--seconds", help="How long to stay in the call once connected.")
    ] = 5.0,
    wait: Annotated[
        float, typer.Option("--wait", help="How long to wait to be admitted (seconds).")
    ] = 300.0,
    staff: Annotated[
        bool, typer.Option("--staff", help="Join your open session as staff (your token).")
    ] = False,
    name: Annotated[
        str | None, typer.Option("--name", help="Display name (guest links).")
    ] = "Headless probe",
    json_: JsonOpt = False,
) -> None:
    """Join through a link exactly as a browser does, send a tone and a moving picture,
    and report how long admission and connection took and the frames that flowed."""
    from tlh.cli.state import state

    st = output(ctx, json_)
    out = st.out
    if (link is None) == (not staff):
        out.error("give a link or --staff")
        raise typer.Exit(int(ExitStatus.USAGE))

    with handled(out):
        import asyncio

        from tlh.media.participant import Participant  # aiortc + av: ~0.5 s

        started = time.monotonic()

        def observe(what: str, details: dict[str, Any]) -> None:
            out.note(f"[{time.monotonic() - started:7.2f}s] {_describe(what, details)}")

        if staff:
            url, token = state(ctx).connection()
            participant = Participant(url, staff_token=token, observer=observe)
        else:
            assert link is not None
            origin, secret = split_link(link)
            participant = Participant(
                origin, link_token=secret, display_name=name, observer=observe
            )

        async def go() -> tuple[bool, dict[str, Any], TlhError | None]:
            try:
                return await probe_run(participant, wait, seconds)
            finally:
                await participant.close()

        ok, summary, failure = asyncio.run(go())
        if out.as_json:  # the summary even of a failed probe: scripts read how far it got
            error = None if failure is None else {"code": failure.code, "message": failure.message}
            out.json({**summary, "ok": ok and failure is None, "error": error})
        elif failure is None:
            _summary_lines(out, summary)
        out.flush()
        if failure is not None:
            raise failure
    if not ok:
        out.error("no media was received from any peer")
        raise typer.Exit(int(ExitStatus.ERROR))
