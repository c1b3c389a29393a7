"""Which keys apply to what is selected, and the one answer when a key does not.

The key bar lists the keys that apply now; the person and session menus offer them; a
key pressed where it does not apply says what it needs, in the same words whichever
key and screen (it used to be silent, a red error, or "select an appointment first" on
a screen without appointments). A dashboard opened elsewhere is read-only: every key
that would change something says so.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from tlh.api.rooms import EntryView
from tlh.domain.rooms import EntryState

from .state import Connection

#: What a dashboard that was opened elsewhere answers to every key that acts.
READ_ONLY = "this dashboard was opened elsewhere and is read-only: q quits"

IN_CALL = frozenset({EntryState.ADMITTED, EntryState.IN_SESSION})


@dataclass(frozen=True)
class Selection:
    """What the keys act on now."""

    #: The numbered screen in front (``None`` under a dialog).
    screen: str | None = None
    #: The person selected (People, or a notification about someone in a room).
    entry: EntryView | None = None
    #: The appointment selected, or the selected person's.
    chosen: str | None = None
    #: ``chosen``, or with nothing selected the next of today's (start and explain).
    target: str | None = None
    #: Whether the chosen appointment has a session open now.
    session_open: bool = False
    #: People waiting in the rooms shown.
    waiting: int = 0
    #: People admit-all would let in (those waiting for the session it acts on).
    session_waiting: int = 0
    #: An admin (or scheduler): every room is shown, and can be filtered.
    admin: bool = False
    #: A deny waiting out its undo time.
    undo: bool = False
    connection: Connection = Connection.LIVE


def _waiting(sel: Selection) -> bool:
    return sel.entry is not None and sel.entry.state is EntryState.WAITING


def _second_device(sel: Selection) -> bool:
    return _waiting(sel) and sel.entry is not None and sel.entry.second_device


def _in_call(sel: Selection) -> bool:
    return sel.entry is not None and sel.entry.state in IN_CALL


def _client(sel: Selection) -> bool:
    return (sel.entry is not None and sel.entry.client_id is not None) or sel.chosen is not None


Rule = Callable[[Selection], bool]

#: Per action: when it applies, and what to say when it does not.
RULES: dict[str, tuple[Rule, str]] = {
    "admit": (_waiting, "select someone waiting (People, 1)"),
    "approve_device": (_second_device, "select a second device waiting (People, 1)"),
    "deny": (_waiting, "select someone waiting (People, 1)"),
    "send_back": (_in_call, "select someone in the call (People, 1)"),
    "call_next": (lambda s: s.waiting > 0, "nobody is waiting"),
    "admit_all": (
        lambda s: s.session_waiting > 0,
        "nobody is waiting for this session (a Admit lets one person in)",
    ),
    "message": (_waiting, "select someone waiting (People, 1)"),
    "message_all": (lambda s: s.waiting > 0, "nobody is waiting"),
    "transfer": (_waiting, "select someone waiting (People, 1)"),
    "start_session": (
        lambda s: s.target is not None,
        "no session left today: select an appointment (Schedule, 2)",
    ),
    "explain": (
        lambda s: s.target is not None,
        "no session left today: select an appointment (Schedule, 2)",
    ),
    "end_session": (
        lambda s: _in_call(s) or s.session_open,
        "no session is open for what is selected",
    ),
    "set_status": (lambda s: s.chosen is not None, "select an appointment (Schedule, 2)"),
    "send_link": (lambda s: s.chosen is not None, "select an appointment (Schedule, 2)"),
    "send_consent": (_client, "select a client (People, 1) or an appointment (Schedule, 2)"),
    "verbal_consent": (_client, "select a client (People, 1) or an appointment (Schedule, 2)"),
    "filter_rooms": (lambda s: s.admin, "only admins see every room"),
    "undo": (lambda s: s.undo, "nothing to undo"),
    "reconnect": (
        lambda s: s.connection is Connection.RECONNECTING,
        "the connection is live",
    ),
}

#: Actions that change nothing: they work on a read-only dashboard too.
VIEWING = frozenset({"explain", "filter_rooms"})


def why_not(action: str, selection: Selection) -> str | None:
    """``None`` when ``action`` applies to ``selection``, else what it needs."""
    rule = RULES.get(action)
    if rule is None:
        return None
    if selection.connection is Connection.SUPERSEDED and action not in VIEWING:
        return READ_ONLY
    applies, needs = rule
    return None if applies(selection) else needs


def applies(action: str, selection: Selection) -> bool:
    """Whether ``action`` applies to ``selection`` (the key bar and the menus list it)."""
    return why_not(action, selection) is None
