"""Frames of the call websockets, tagged by ``type``: the participant's
(``/api/v1/link/ws``) and the staff call socket (``/api/v1/call/ws``).

What a socket may send is a tagged union (``ParticipantFrame``, ``StaffCallFrame``): a
frame whose ``type`` is not in it closes the socket (1008, "unknown message type"), and
one of a known type that does not fit closes it with that type's ``refused`` reason. The
server's frames (``ServerFrame``) are the same for both sockets.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, ClassVar, Literal

import msgspec

from tlh.api.media import DeviceId

#: A device check's finding per device.
DeviceState = Literal["ok", "denied", "missing", "skipped"]


class _Frame(msgspec.Struct, tag_field="type", frozen=True, kw_only=True):
    """A websocket frame: a JSON object whose ``type`` names its struct."""


# --- what pages and headless peers send ------------------------------------------------


class Hello(_Frame, tag="hello", frozen=True, kw_only=True):
    """The page's first frame: which browser it is (and a guest's typed name)."""

    refused: ClassVar[str] = "hello needs a device_id"
    device_id: DeviceId
    display_name: str | None = None  # guests only; at most 80 characters are kept
    #: The session whose call this page still holds connections in (its socket came back
    #: after a network blip or a server restart): the others keep theirs to it.
    resume: str | None = None


class DeviceCheckDone(_Frame, tag="device_check", frozen=True, kw_only=True):
    """What the device check found (a device not mentioned was skipped)."""

    refused: ClassVar[str] = "invalid message"
    camera: DeviceState = "skipped"
    microphone: DeviceState = "skipped"
    speaker: DeviceState = "skipped"


class MediaState(_Frame, tag="media", frozen=True, kw_only=True):
    """In the call: the page's media connected (admitted → in_session), or its direct
    connection failed (the segment falls back to the server's relay)."""

    refused: ClassVar[str] = "invalid message"
    state: Literal["connected", "failed"]


class Signal(_Frame, tag="signal", frozen=True, kw_only=True):
    """Signalling to one peer of the segment: ``{"description": ...}`` or
    ``{"candidate": ...}`` (a JSON object of at most 12 KiB, checked by the server).

    ``data`` is kept as the JSON the page sent (``msgspec.Raw``): the server passes it on
    to the peer as it came, without building and re-encoding a 3 kB SDP per signal."""

    refused: ClassVar[str] = "signal needs to and data"
    to: Annotated[str, msgspec.Meta(min_length=1)]
    data: msgspec.Raw


class Reply(_Frame, tag="reply", frozen=True, kw_only=True):
    """A waiting person's answer to the clinician's message (at most 300 characters, a
    few a minute; answered ``reply.sent``)."""

    refused: ClassVar[str] = "reply needs text"
    text: Annotated[str, msgspec.Meta(max_length=2000)]


class Leave(_Frame, tag="leave", frozen=True, kw_only=True):
    """Leave the waiting room or the call."""

    refused: ClassVar[str] = "invalid message"


class Join(_Frame, tag="join", frozen=True, kw_only=True):
    """Staff: switch to another of their open segments."""

    refused: ClassVar[str] = "join needs session_id"
    session_id: str


class StaffHello(_Frame, tag="hello", frozen=True, kw_only=True):
    """A ``hello`` on the staff socket: accepted and ignored, so the page and the headless
    participant share the participant socket's code."""

    refused: ClassVar[str] = "invalid message"


class StaffMedia(_Frame, tag="media", frozen=True, kw_only=True):
    """A ``media`` report on the staff socket: accepted and ignored, as ``StaffHello``."""

    refused: ClassVar[str] = "invalid message"


ParticipantFrame = Hello | DeviceCheckDone | MediaState | Signal | Reply | Leave
StaffCallFrame = Signal | Join | Leave | StaffMedia | StaffHello


# --- what the server sends ---------------------------------------------------------------


class PeerInfo(msgspec.Struct, frozen=True, kw_only=True):
    """One peer of a call as the others see it (no names beyond the label staff chose)."""

    peer_id: str
    label: str
    kind: str  # "client" | "contact" | "guest" | "staff" | "relay" (the upload, relayed)


class Status(_Frame, tag="status", frozen=True, kw_only=True, omit_defaults=True):
    """A participant's place: on hello and on every change. On the staff socket, only
    ``{"state": "no_session", "reason"?}``."""

    #: An ``EntryState``, ``"ended"`` or ``"revoked"``; staff: ``"no_session"``.
    state: str
    entry_id: str | None = None
    clinician_name: str | None = None
    presence: str | None = None
    second_device: bool | None = None
    opens_at: datetime | None = None  # an early link: when the window opens
    #: Place in line and expected wait, while waiting (``None`` when unknown).
    position: int | msgspec.UnsetType | None = msgspec.UNSET
    expected_wait_min: int | msgspec.UnsetType | None = msgspec.UNSET
    reason: str | None = None  # staff: "session_full"
    #: What the clinician wrote when they sent the person away (``denied``).
    message: str | None = None


class StaffMessage(_Frame, tag="message", frozen=True, kw_only=True):
    """A message from the clinician to a waiting page."""

    text: str
    at: datetime


class ReplySent(_Frame, tag="reply.sent", frozen=True, kw_only=True):
    """The page's reply as the clinician sees it (``accepted``), or refused (too many in
    a minute: ``accepted`` false, ``text`` is what was refused)."""

    text: str
    at: datetime
    accepted: bool = True


class Admitted(_Frame, tag="admitted", frozen=True, kw_only=True):
    """In the call as ``peer_id``: offer to every peer listed (the newcomer offers)."""

    peer_id: str
    session_id: str
    peers: list[PeerInfo]
    ice_servers: list[dict[str, Any]]


class PeerJoined(
    PeerInfo, tag="peer.joined", tag_field="type", frozen=True, kw_only=True, omit_defaults=True
):
    """A peer joined (a known ``peer_id`` again: a reload replaced its connection, or,
    ``resumed``, its socket came back holding its media connections: keep yours to it)."""

    resumed: bool = False


class PeerLeft(_Frame, tag="peer.left", frozen=True, kw_only=True):
    """A peer left the call."""

    peer_id: str


class PeerAway(_Frame, tag="peer.away", frozen=True, kw_only=True):
    """A peer's connection dropped; it keeps its place for the reconnect grace (its
    media may carry on). ``peer.joined`` again when it is back, ``peer.left`` if not."""

    peer_id: str


class Signalled(_Frame, tag="signal", frozen=True, kw_only=True):
    """Signalling from another peer of the segment (or the server's relay): ``data`` is
    the JSON object the peer sent, passed on as it came (``msgspec.Raw``), or the
    relay's own (a dict)."""

    from_: str = msgspec.field(name="from")
    data: msgspec.Raw | dict[str, Any]


class Ended(_Frame, tag="ended", frozen=True, kw_only=True):
    """The clinician ended the session."""


ServerFrame = (
    Status
    | StaffMessage
    | ReplySent
    | Admitted
    | PeerJoined
    | PeerAway
    | PeerLeft
    | Signalled
    | Ended
)
