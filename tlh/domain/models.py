"""The practice's records as frozen, typed structs.

These are the wire format too: ``msgspec.json.encode(model)`` is exactly what the
API sends and what ``--json`` prints, and the store keeps the same encoding on disk.
Datetimes are always timezone-aware and held in UTC; the practice's zone is only
for display and for reading local times typed by people.

The records the store keeps are ``gc=False``: frozen, holding only scalars, strings,
tuples and other such records, they cannot form a reference cycle, so the cycle
collector need not walk the hundreds of thousands a practice's history holds.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from enum import StrEnum

import msgspec


class Role(StrEnum):
    ADMIN = "admin"
    SCHEDULER = "scheduler"
    CLINICIAN = "clinician"


class Kind(StrEnum):
    """Calendar entry kinds; only ``appointment`` can be telehealth."""

    APPOINTMENT = "appointment"
    EVENT = "event"
    VACATION = "vacation"
    BLACKOUT = "blackout"


class Modality(StrEnum):
    TELEHEALTH = "telehealth"
    IN_PERSON = "in_person"


class Status(StrEnum):
    SCHEDULED = "scheduled"
    CONFIRMED = "confirmed"
    CHECKED_IN = "checked_in"
    OCCURRED = "occurred"
    MISSED = "missed"
    CANCELLED = "cancelled"
    LATE_CANCELLED = "late_cancelled"


class AvailabilityMode(StrEnum):
    IN_PERSON = "in_person"
    TELEHEALTH_ONLY = "telehealth_only"
    BOTH = "both"


class IdentityCheck(StrEnum):
    OFF = "off"
    DOB = "dob"
    CODE = "code"


class RelayMode(StrEnum):
    """When a session's media goes through the server's relay instead of the mesh."""

    AUTO = "auto"
    ALWAYS = "always"


class DashboardUnlock(StrEnum):
    """What unlocks an idle-locked dashboard."""

    KEY = "key"
    TOKEN = "token"


class SelfScheduling(StrEnum):
    """Who may book open slots themselves (``off``: staff book every visit)."""

    OFF = "off"
    CLIENTS = "clients"


class Reminder(StrEnum):
    EMAIL = "email"
    SMS = "sms"


DEFAULT_START_STATUSES: tuple[Status, ...] = (
    Status.CONFIRMED,
    Status.CHECKED_IN,
    Status.OCCURRED,
)


class Policy(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, gc=False):
    """The practice's settings (one practice per server)."""

    practice_name: str
    #: How clients reach the practice, named on the client page when a link fails
    #: (a phone number as people dial it, an email address; "" leaves it out).
    contact_phone: str = ""
    contact_email: str = ""
    #: IANA zone the practice works in; local times typed by people are read in it.
    timezone: str = "UTC"
    #: Master switch for telehealth sessions.
    telehealth_enabled: bool = True
    #: Appointment statuses that allow a telehealth session to start.
    start_statuses: tuple[Status, ...] = DEFAULT_START_STATUSES
    #: Minutes before the start that the join window opens.
    window_opens_before_min: int = 10
    #: Minutes after the start that the join window closes.
    window_closes_after_min: int = 300
    #: Whether a client needs valid consent before a session.
    consent_required: bool = True
    #: How many days an accepted consent stays valid (0 = forever).
    consent_valid_days: int = 365
    #: Waiting room default for clinicians that have no setting of their own.
    waiting_room_default: bool = True
    #: Identity check when a client opens a link.
    identity_check: IdentityCheck = IdentityCheck.OFF
    #: Whether automatic text reminders may carry the join link.
    sms_reminders_include_link: bool = False
    #: Cancelling closer than this to the start counts as a late cancellation.
    late_cancel_hours: int = 24
    #: Joining more than this many minutes after the start counts as late in reports.
    late_after_min: int = 10
    #: Minutes without activity before staff browser pages and dashboards lock.
    idle_logoff_min: int = 15
    #: What unlocks an idle-locked dashboard: the unlock key, or the user's API token again.
    dashboard_unlock: DashboardUnlock = DashboardUnlock.KEY
    #: Minutes after an appointment's end that its join links still work.
    link_grace_min: int = 30
    #: Days a consent-request link stays valid.
    consent_link_days: int = 14
    #: Hours a room link (guest, quick) stays valid.
    room_link_hours: int = 12
    #: Days a practice-website join code (``tlh invite website``) stays valid; 0 = until
    #: it is revoked (``tlh link revoke``), as a code printed on a website should.
    website_link_days: int = 0
    #: Hours before the start of the first (email, with join button) reminder; 0 = off.
    reminder_email_hours: int = 24
    #: Minutes before the start of the "soon" reminder (text + email); 0 = off. It is sent
    #: only while at least ``reminder_soon_min_floor`` minutes remain.
    reminder_soon_min: int = 30
    reminder_soon_min_floor: int = 15
    #: Media through the server's relay: ``auto`` past the browser mesh's limit or when a
    #: page's direct connection fails; ``always`` for every session, 1:1 included.
    relay: RelayMode = RelayMode.AUTO
    #: Send the invitation (join link by email to the client and every contact with email
    #: reminders) when a telehealth appointment is booked or imported; a series' first
    #: occurrence only (later ones get theirs with their reminders).
    invite_on_create: bool = True
    # -- the client portal (issue 13, p-core) --
    #: Minutes before a start that the portal shows its "starts in N minutes" banner.
    portal_notice_min: int = 10
    #: An emailed join link leads to portal sign-in first.
    portal_required: bool = False
    #: Minutes without a request before a portal session signs out.
    portal_idle_min: int = 30
    # Self-scheduling (issue 13, p-slots).
    #: Whether clients (and their portal contacts) may book open slots themselves.
    self_scheduling: SelfScheduling = SelfScheduling.OFF
    #: A client books at least this many hours ahead.
    booking_min_notice_h: int = 24
    #: ... and at most this many days ahead.
    booking_max_days: int = 60
    #: A client's booking is stored confirmed (else scheduled, for staff to confirm).
    booking_confirms: bool = False
    #: The length of a slot a client books, in minutes (a usual session).
    booking_slot_min: int = 50


class Staff(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    id: str
    email: str  # stored lower-case
    name: str
    role: Role
    telehealth: bool = False
    active: bool = True
    #: ``None`` follows the practice's ``waiting_room_default``.
    waiting_room: bool | None = None
    #: An admin (or scheduler) who also sees clients: a solo practitioner is both. Such
    #: an account passes the checks of either role and is listed among the clinicians.
    also_clinician: bool = False
    created_at: datetime
    updated_at: datetime

    @property
    def roles(self) -> frozenset[Role]:
        """Every role the staff member holds (``role``, and clinician if ``also_clinician``)."""
        return roles_of(self.role, self.also_clinician)

    @property
    def is_clinician(self) -> bool:
        """Sees clients: a clinician by role, or an admin who is also one."""
        return Role.CLINICIAN in self.roles


def roles_of(role: Role | None, also_clinician: bool = False) -> frozenset[Role]:
    """The roles of an account whose role is ``role`` (none: no role at all)."""
    held = {role} if role is not None else set()
    return frozenset(held | ({Role.CLINICIAN} if also_clinician else set()))


class StaffToken(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """An API token: only its SHA-256 is stored; the token is shown once."""

    id: str
    staff_id: str
    hash: str
    created_at: datetime
    revoked_at: datetime | None = None


class Contact(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """A caregiver or other contact of a client."""

    id: str
    name: str
    relationship: str = ""
    email: str | None = None
    phone: str | None = None  # E.164
    reminders: tuple[Reminder, ...] = ()
    #: May sign in to the client portal (``/p``) and act for this client (issue 13).
    portal: bool = False


class Client(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    id: str
    name: str
    dob: date | None = None
    email: str | None = None  # stored lower-case
    phone: str | None = None  # E.164
    external_id: str | None = None
    reminders: tuple[Reminder, ...] = (Reminder.EMAIL,)
    contacts: tuple[Contact, ...] = ()
    #: Clinicians the client is assigned to: they read the record with or without a
    #: recent visit (``tlh.domain.scope``).
    clinician_ids: tuple[str, ...] = ()
    #: The language the client's pages and messages are in (a BCP 47 primary tag of
    #: ``tlh.domain.language.LANGUAGES``); ``None``: the browser's choice, else English.
    language: str | None = None
    created_at: datetime
    updated_at: datetime
    #: May sign in to the client portal with the email or phone on file (issue 13);
    #: ``tlh portal revoke`` turns it off, ``tlh portal invite`` on again.
    portal: bool = True


class Appointment(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    id: str
    kind: Kind = Kind.APPOINTMENT
    modality: Modality = Modality.IN_PERSON
    status: Status = Status.SCHEDULED
    clinician_ids: tuple[str, ...]
    client_ids: tuple[str, ...] = ()
    start: datetime  # aware, UTC
    duration_min: int
    #: Occurrences of one series share its id; ``rrule`` is kept on each.
    series_id: str | None = None
    rrule: str | None = None
    external_id: str | None = None
    copay_collected: bool = False
    #: The copay amount collected, as a decimal string ("25.00"); ``None`` when unknown.
    copay_amount: str | None = None
    notes: str = ""
    created_at: datetime
    updated_at: datetime

    @property
    def end(self) -> datetime:
        return self.start + timedelta(minutes=self.duration_min)


class AvailabilityBlock(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """A weekly block of a clinician's time, in the practice's local time."""

    id: str
    clinician_id: str
    weekday: int  # 0 = Monday
    start_local: str  # "HH:MM"
    end_local: str  # "HH:MM"
    mode: AvailabilityMode = AvailabilityMode.BOTH


class Blocker(msgspec.Struct, frozen=True, kw_only=True):
    """One reason a telehealth session cannot start, with a stable code."""

    code: str
    message: str
    #: The client it is about (consent reasons), so a screen can name them.
    client_id: str | None = None


class Eligibility(msgspec.Struct, frozen=True, kw_only=True):
    """The answer to "can this session start now?" with every blocking reason."""

    appointment_id: str
    at: datetime
    can_start: bool
    blockers: tuple[Blocker, ...]
    window_opens: datetime | None = None
    window_closes: datetime | None = None
    #: What does not stop the start but a person should know: the visit lies outside
    #: its clinicians' availability (``tlh.domain.availability.availability_warnings``).
    warnings: tuple[Blocker, ...] = ()


class ConflictFound(msgspec.Struct, frozen=True, kw_only=True):
    """One collision of an appointment with another calendar entry."""

    code: str  # "double_booked" | "vacation" | "blackout"
    clinician_id: str
    other_id: str
    message: str
