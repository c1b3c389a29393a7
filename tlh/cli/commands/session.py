"""``tlh session``: start a telehealth session (and open the call page), end it, list them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from tlh.cli.exit import ExitStatus
from tlh.cli.output import Output, clean
from tlh.cli.state import JsonOpt, output, run
from tlh.errors import NotFound, TlhError

if TYPE_CHECKING:
    from tlh.client import TlhClient
    from tlh.domain.sessions import SessionSegment

app = typer.Typer(help="Start, end and list telehealth sessions.", no_args_is_help=True)

ApptArg = Annotated[str, typer.Argument(help="Appointment id (apt_...).")]


def blocking_reasons(details: Any) -> list[str]:
    """The reasons of a 409 ``not_eligible`` (``details``: a list of blockers, or a dict
    holding ``blockers``/``reasons``); each as ``message (code)``."""
    if isinstance(details, dict):
        details = details.get("blockers", details.get("reasons", []))
    if not isinstance(details, list):
        return []
    reasons = []
    for item in details:
        if isinstance(item, dict):
            text = item.get("message") or item.get("code") or ""
            code = item.get("code")
            reasons.append(f"{text} ({code})" if code and code != text else str(text))
        elif isinstance(item, str):
            reasons.append(item)
    return [clean(r) for r in reasons if r]


def show_link(out: Output, url: str, open_browser: bool) -> None:
    """Open the call page; when no browser can be opened, a QR code to scan instead."""
    opened = False
    if open_browser:
        import webbrowser

        try:
            opened = webbrowser.open(url, new=2)
        except webbrowser.Error:
            opened = False
    if opened:
        out.note("opened the call page in your browser (the link works once, for 2 minutes)")
        return
    out.note("no browser opened: scan this code with a phone or tablet, or open the URL above")
    out.qr(url)


@app.command("start")
def start(
    ctx: typer.Context,
    appt: Annotated[str | None, typer.Argument(help="Appointment id (apt_...); or --room.")] = None,
    room: Annotated[
        bool, typer.Option("--room", help="Start a session in your room (guests, quick).")
    ] = False,
    no_browser: Annotated[
        bool, typer.Option("--no-browser", help="Print the call page's URL without opening it.")
    ] = False,
    json_: JsonOpt = False,
) -> None:
    """Start the session: every blocking reason if it cannot, else the call page's URL."""
    st = output(ctx, json_)
    if (appt is None) == (not room):
        st.out.error("give an appointment id or --room")
        raise typer.Exit(int(ExitStatus.USAGE))

    async def body(client: TlhClient, out: Output) -> int | None:
        try:
            started = await client.sessions.start(appt, room=room)
        except TlhError as exc:
            reasons = blocking_reasons(exc.details)
            if not reasons:
                raise
            out.error(f"{appt or 'the room session'} cannot start: {len(reasons)} reason(s)")
            for reason in reasons:
                out.note(f"  - {reason}")
            return int(ExitStatus.CONFLICT)
        if out.as_json:
            out.raw(client.last_body + b"\n")
        else:
            out.line(started.url)
            out.note(f"session {started.session.id} started")
        if not out.as_json or not no_browser:
            show_link(out, started.url, open_browser=not no_browser)
        return None

    run(ctx, body)


async def open_segment_of(client: TlhClient, appt: str) -> SessionSegment:
    """The open session segment of an appointment: today's sessions first, then the
    rooms' open sessions (a session that began before midnight)."""
    candidates = list(await client.sessions.list())
    if not any(s.appointment_id == appt and s.ended_at is None for s in candidates):
        candidates = [s for room in (await client.rooms.list()).items for s in room.sessions]
    for segment in candidates:
        if segment.appointment_id == appt and segment.ended_at is None:
            return segment
    raise NotFound(f"no open session for {appt}")


@app.command("end")
def end(ctx: typer.Context, appt: ApptArg, json_: JsonOpt = False) -> None:
    """End an appointment's open session: everyone in the call is taken out."""
    output(ctx, json_)

    async def body(client: TlhClient, out: Output) -> None:
        segment = None if appt.startswith("ses_") else await open_segment_of(client, appt)
        session_id = segment.id if segment is not None else appt
        ended = await client.sessions.end(session_id)
        if out.as_json:
            out.raw(client.last_body + b"\n")
        else:
            out.line(ended.id)
            out.note(f"session {ended.id} ended")

    run(ctx, body)


@app.command("list")
def list_(
    ctx: typer.Context,
    date: Annotated[
        str | None,
        typer.Option("--date", help="Local day: YYYY-MM-DD, today, yesterday... (default today)."),
    ] = None,
    clinician: Annotated[
        str | None, typer.Option("--clinician", help="Only this clinician's (email or id).")
    ] = None,
    json_: JsonOpt = False,
) -> None:
    """A day's session segments: when, who started them, how many joined."""
    output(ctx, json_)

    async def body(client: TlhClient, out: Output) -> None:
        from tlh.cli.days import resolve_all
        from tlh.cli.timefmt import local

        (day,) = await resolve_all(client, date)
        segments = await client.sessions.list(day, clinician)
        if out.as_json:
            out.raw(client.last_body + b"\n")
            return
        zone = (await client.practice.get()).timezone
        names = {s.id: s.name for s in await client.staff.list()}
        rows = []
        for s in segments:
            minutes = ""
            if s.ended_at is not None:
                minutes = str(round((s.ended_at - s.started_at).total_seconds() / 60))
            rows.append(
                (
                    s.id,
                    s.appointment_id or ("(doctor test)" if s.self_test else "(room)"),
                    names.get(s.clinician_id, s.clinician_id),
                    local(s.started_at, zone),
                    local(s.ended_at, zone)[11:] if s.ended_at else "open",
                    minutes,
                    len({p.peer_id for p in s.participants}),
                )
            )
        out.table(("session", "appointment", "clinician", "start", "end", "min", "people"), rows)

    run(ctx, body)
