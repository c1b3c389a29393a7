"""``tlh room``: see who is waiting, let them in, turn them away, message them, watch live."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated

import typer

from tlh.cli.exit import ExitStatus
from tlh.cli.output import Output, clean
from tlh.cli.state import JsonOpt, output, run

if TYPE_CHECKING:
    from datetime import datetime

    from tlh.api.rooms import EntryView, Rooms
    from tlh.client import TlhClient

app = typer.Typer(
    help="Waiting rooms: list, admit, deny, send back, message, transfer, call next, watch.",
    no_args_is_help=True,
)

EntryArg = Annotated[str, typer.Argument(help="Room entry id (ent_...), as `tlh room list` shows.")]
ClinicianOpt = Annotated[
    str | None,
    typer.Option("--clinician", help="The room's clinician (email or id); default: yours."),
]


def _entry_done(client: TlhClient, out: Output, entry: EntryView, verb: str) -> None:
    """One entry changed: who and where it is now (or the API's JSON)."""
    if out.as_json:
        out.raw(client.last_body + b"\n")
        return
    entries_table(out, [entry])
    out.note(f"{verb} {clean(who(entry))}")


def who(entry: EntryView) -> str:
    """The person an entry is, as staff see them (their name, or what they are)."""
    return entry.label or entry.participant.value


def entries_table(out: Output, entries: list[EntryView]) -> None:
    """Entries by name, with their id to act on and their state now."""
    out.table(
        ("entry", "who", "state", "#"),
        [(e.id, who(e), e.state.value.replace("_", " "), e.position or "") for e in entries],
    )


def rooms_table(out: Output, rooms: Rooms, zone: str) -> None:
    """Every live entry of every room, then the shared queue; one per row."""
    from tlh.cli.timefmt import local

    rows: list[tuple[object, ...]] = []
    for room in rooms.items:
        for e in room.entries:
            rows.append(_row(e, room.name or room.clinician_id, zone, local))
    for e in rooms.queue:
        rows.append(_row(e, "(shared queue)", zone, local))
    out.table(("entry", "room", "who", "state", "#", "since", "consent", "device", "flags"), rows)
    for room in rooms.items:
        open_ = ", ".join(s.id for s in room.sessions) or "no open session"
        mode = "waiting room on" if room.waiting_room else "waiting room off"
        out.note(
            f"{clean(room.name or room.clinician_id)}: {room.presence}, {mode}, {open_},"
            f" {sum(e.state.value == 'waiting' for e in room.entries)} waiting"
        )


def _row(
    e: EntryView, room: str, zone: str, local: Callable[[datetime | None, str], str]
) -> tuple[object, ...]:
    flags = [
        name
        for name, on in (
            ("offline", not e.online),
            ("second device", e.second_device),
            (f"reconnected x{e.reconnects}", e.reconnects > 0),
        )
        if on
    ]
    device = ""
    if e.device_check is not None:
        device = f"cam {e.device_check.camera}, mic {e.device_check.microphone}"
    if e.connection_test is not None:
        device = ", ".join(filter(None, (device, f"net {e.connection_test.verdict}")))
    return (
        e.id,
        room,
        who(e),
        e.state.value,
        e.position or "",
        local(e.arrived_at, zone)[11:],
        e.consent or "",
        device,
        ", ".join(flags),
    )


@app.command("list")
def list_(ctx: typer.Context, clinician: ClinicianOpt = None, json_: JsonOpt = False) -> None:
    """Who is waiting or in a call, per room, with their place in line."""
    output(ctx, json_)

    async def body(client: TlhClient, out: Output) -> None:
        rooms = await client.rooms.list(clinician)
        if out.as_json:
            out.raw(client.last_body + b"\n")
            return
        rooms_table(out, rooms, (await client.practice.get()).timezone)

    run(ctx, body)


@app.command("admit")
def admit(
    ctx: typer.Context,
    entry: Annotated[str | None, typer.Argument(help="Room entry id (ent_...).")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Admit everyone waiting.")] = False,
    clinician: ClinicianOpt = None,
    approve: Annotated[
        bool,
        typer.Option("--approve-second-device", help="Let in a link opened on a second device."),
    ] = False,
    json_: JsonOpt = False,
) -> None:
    """Let one person (or with --all, everyone waiting) into the call."""
    st = output(ctx, json_)
    if (entry is None) == (not all_):
        st.out.error("give an entry id or --all")
        raise typer.Exit(int(ExitStatus.USAGE))

    async def body(client: TlhClient, out: Output) -> None:
        if entry is not None:
            _entry_done(client, out, await client.rooms.admit(entry, approve), "admitted")
            return
        done = await client.rooms.admit_all(clinician)
        if out.as_json:
            out.raw(client.last_body + b"\n")
            return
        if done.admitted:
            entries_table(out, done.admitted)
        out.note(f"admitted {len(done.admitted)}")

    run(ctx, body)


@app.command("deny")
def deny(
    ctx: typer.Context,
    entry: EntryArg,
    message: Annotated[
        str | None, typer.Option("--message", help="What the person is told.")
    ] = None,
    json_: JsonOpt = False,
) -> None:
    """Turn someone away from the waiting room."""
    output(ctx, json_)

    async def body(client: TlhClient, out: Output) -> None:
        _entry_done(client, out, await client.rooms.deny(entry, message), "denied")

    run(ctx, body)


@app.command("return")
def return_(ctx: typer.Context, entry: EntryArg, json_: JsonOpt = False) -> None:
    """Send someone in the call back to the waiting room (first in line)."""
    output(ctx, json_)

    async def body(client: TlhClient, out: Output) -> None:
        _entry_done(client, out, await client.rooms.send_back(entry), "sent back")

    run(ctx, body)


@app.command("message")
def message(
    ctx: typer.Context,
    args: Annotated[list[str], typer.Argument(help="ENTRY TEXT, or with --all just TEXT.")],
    all_: Annotated[bool, typer.Option("--all", help="Message everyone waiting.")] = False,
    clinician: ClinicianOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Send a message to one waiting person, or to everyone waiting (--all)."""
    st = output(ctx, json_)
    if len(args) != (1 if all_ else 2):
        st.out.error("give ENTRY TEXT, or --all TEXT")
        raise typer.Exit(int(ExitStatus.USAGE))

    async def body(client: TlhClient, out: Output) -> None:
        if all_:
            sent = await client.rooms.message_all(args[0], clinician)
            if out.as_json:
                out.raw(client.last_body + b"\n")
            else:
                out.note(f"sent to {sent.sent} waiting")
            return
        await client.rooms.message(args[0], args[1])
        if out.as_json:
            out.json({"sent": 1})
        else:
            out.note(f"sent to {args[0]}")

    run(ctx, body)


@app.command("transfer")
def transfer(
    ctx: typer.Context,
    entry: EntryArg,
    to: Annotated[str, typer.Option("--to", help="The other clinician (email or id).")],
    json_: JsonOpt = False,
) -> None:
    """Move a waiting person to another clinician's room (they keep their arrival time)."""
    output(ctx, json_)

    async def body(client: TlhClient, out: Output) -> None:
        _entry_done(client, out, await client.rooms.transfer(entry, to), "transferred")

    run(ctx, body)


@app.command("next")
def next_(ctx: typer.Context, clinician: ClinicianOpt = None, json_: JsonOpt = False) -> None:
    """Admit the next person: your room first, else the practice's shared queue."""
    output(ctx, json_)

    async def body(client: TlhClient, out: Output) -> None:
        _entry_done(client, out, await client.rooms.next(clinician), "admitted")

    run(ctx, body)


@app.command("presence")
def presence(
    ctx: typer.Context,
    state: Annotated[str, typer.Argument(help="online, late or busy.")],
    json_: JsonOpt = False,
) -> None:
    """What your waiting clients see: online, running late, or on another call."""
    output(ctx, json_)

    async def body(client: TlhClient, out: Output) -> None:
        room = await client.rooms.set_presence(state)
        if out.as_json:
            out.raw(client.last_body + b"\n")
        else:
            out.note(f"presence: {room.presence}")

    run(ctx, body)


@app.command("watch")
def watch(
    ctx: typer.Context,
    json_: JsonOpt = False,
    bell: Annotated[
        bool, typer.Option("--bell/--no-bell", help="Ring the terminal bell on arrivals.")
    ] = True,
    count: Annotated[
        int | None, typer.Option("--count", help="Stop after this many events (scripts).")
    ] = None,
) -> None:
    """Stream waiting-room and session events as lines (JSON lines with --json)."""
    from tlh.cli.commands.room_watch import watch_events

    output(ctx, json_)

    async def body(client: TlhClient, out: Output) -> None:
        await watch_events(client, out, bell=bell, count=count)

    run(ctx, body)
