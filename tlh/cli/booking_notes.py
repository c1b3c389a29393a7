"""What booking, changing and importing appointments tell the person at the terminal:
warnings (outside availability, not invited) on stderr, and the messages they queued."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING

from tlh.cli.output import Output

if TYPE_CHECKING:
    from tlh.api.appointments import BookingWarning, ImportedClient, Outgoing

#: Kinds the reminder clock sends (not the booking itself).
_CLOCK_KINDS = frozenset({"reminder_24h", "reminder_soon"})


def warn_all(out: Output, warnings: Sequence[BookingWarning]) -> None:
    """Each warning on stderr (with its import row, when it has one)."""
    for w in warnings:
        where = f"row {w.row}: " if w.row is not None else ""
        out.warn(f"{where}{w.message}")


def message_counts(messages: Sequence[Outgoing]) -> str:
    """``2 invitation by email, 1 reminder_24h by email`` (``none`` for no message)."""
    counts = Counter((str(m.kind), str(m.channel)) for m in messages)
    return ", ".join(f"{n} {kind} by {channel}" for (kind, channel), n in counts.items()) or "none"


def messages_note(out: Output, messages: Sequence[Outgoing], *, would: bool = False) -> None:
    """One line on stderr: the messages queued (or, ``would``, that would be)."""
    if not messages:
        return
    verb = "would send" if would else "queued"
    note = f"{verb} {len(messages)} message(s): {message_counts(messages)}"
    if any(str(m.kind) in _CLOCK_KINDS for m in messages):
        note += " (reminders already due go with the reminder clock's next tick)"
    out.note(note)


def clients_table(out: Output, clients: Sequence[ImportedClient]) -> None:
    """The clients an import creates: first row naming them, name (from the file)."""
    out.table(("row", "new client"), [(c.row, c.name) for c in clients])


def messages_table(out: Output, messages: Sequence[Outgoing]) -> None:
    """Each message: the row it comes from, what, how, and to whom (ids; a new client
    of a dry run is 'the client of row N')."""

    def who(m: Outgoing) -> str:
        person = m.client_id or (f"new client (row {m.row})" if m.row is not None else "")
        return f"{person}, contact {m.contact_id}" if m.contact_id else person

    out.table(
        ("row", "message", "by", "appointment", "to"),
        [
            (
                "" if m.row is None else m.row,
                str(m.kind),
                str(m.channel),
                m.appointment_id or "(new)",
                who(m),
            )
            for m in messages
        ],
    )
