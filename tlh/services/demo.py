"""A believable practice for `tlh demo`: two clinicians, six clients, this week's diary.

All names, emails and numbers are made up (example.org, 555 numbers).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from tlh.api.appointments import NewAppointment
from tlh.api.clients import NewClient, NewContact
from tlh.api.staff import NewStaff
from tlh.domain.links import Channel
from tlh.domain.models import Appointment, Client, Modality, Reminder, Role, Staff, Status
from tlh.domain.timeutil import zone
from tlh.errors import Conflict
from tlh.services import appointments, clients, links, staff
from tlh.services.context import Actor, Context

CLINICIANS = [("lee@example.org", "Dr. Morgan Lee"), ("patel@example.org", "Dr. Asha Patel")]
CLIENTS = [
    ("Jordan Rivera", "1990-04-12", "jordan@example.org", "+1 202 555 0141", None),
    ("Sam Okafor", "1985-09-30", "sam@example.org", "+1 202 555 0142", None),
    ("Riley Chen", "2011-02-03", None, "+1 202 555 0143", ("Mei Chen", "parent")),
    ("Alex Novak", "1978-12-24", "alex@example.org", None, None),
    ("Casey Brooks", "2008-07-19", "casey@example.org", None, ("Pat Brooks", "guardian")),
    ("Taylor Ahmed", "1995-01-05", "taylor@example.org", "+1 202 555 0146", None),
]
# (day offset from Monday, local hour, clinician index, client index, telehealth, status)
WEEK = [
    (0, 9, 0, 0, True, Status.CONFIRMED),
    (0, 10, 0, 1, False, Status.OCCURRED),
    (0, 14, 1, 2, True, Status.CONFIRMED),
    (1, 9, 1, 3, True, Status.SCHEDULED),
    (1, 11, 0, 4, False, Status.MISSED),
    (2, 10, 0, 5, True, Status.CONFIRMED),
    (2, 15, 1, 0, True, Status.CHECKED_IN),
    (3, 9, 0, 2, True, Status.SCHEDULED),
    (3, 13, 1, 1, False, Status.CANCELLED),
    (4, 10, 0, 3, True, Status.CONFIRMED),
    (4, 16, 1, 4, True, Status.SCHEDULED),
]


@dataclass
class DemoPractice:
    clinician_tokens: dict[str, str] = field(default_factory=dict)
    #: Clinicians' names by email.
    clinician_names: dict[str, str] = field(default_factory=dict)
    #: Monday of the seeded week (the practice's zone).
    monday: date = date.min
    client_ids: list[str] = field(default_factory=list)
    appointment_ids: list[str] = field(default_factory=list)
    next_telehealth: str | None = None


async def seed(ctx: Context, admin: Actor, now: datetime) -> DemoPractice:
    """Fill an initialised practice with demo staff, clients and this week's appointments."""
    demo = DemoPractice()
    tz = zone(ctx.policy().timezone)
    emails: list[str] = []
    for email, name in CLINICIANS:
        member, token = await staff.add_staff(
            ctx, admin, NewStaff(email=email, name=name, role=Role.CLINICIAN, telehealth=True)
        )
        demo.clinician_tokens[member.email] = token
        demo.clinician_names[member.email] = member.name
        emails.append(member.email)
    await staff.add_staff(
        ctx, admin, NewStaff(email="front@example.org", name="Front Desk", role=Role.SCHEDULER)
    )
    for name, dob, client_email, phone, contact in CLIENTS:
        client = await clients.add_client(
            ctx, admin, NewClient(name=name, dob=dob, email=client_email, phone=phone)
        )
        if contact:
            caregiver = NewContact(
                name=contact[0],
                relationship=contact[1],
                phone="+1 202 555 0199",
                reminders=[Reminder.SMS],
            )
            await clients.add_contact(ctx, admin, client.id, caregiver)
        demo.client_ids.append(client.id)
    local_now = now.astimezone(tz)
    monday = demo.monday = (local_now - timedelta(days=local_now.weekday())).date()
    for day, hour, who, client_ix, telehealth, status in WEEK:
        start = datetime(monday.year, monday.month, monday.day, hour, tzinfo=tz) + timedelta(
            days=day
        )
        made = await appointments.add_appointment(
            ctx,
            admin,
            NewAppointment(
                client_ids=[demo.client_ids[client_ix]],
                clinicians=[emails[who]],
                start=start.isoformat(),
                duration_min=50,
                modality=Modality.TELEHEALTH if telehealth else Modality.IN_PERSON,
                status=status,
            ),
        )
        demo.appointment_ids += [a.id for a in made]
    # One that can start right now, so a newcomer sees a live case.
    # Either clinician may have a diary entry then; try the other, then an hour later.
    soon = (local_now + timedelta(minutes=5)).replace(second=0, microsecond=0)
    for start, clinician in ((soon, 1), (soon, 0), (soon + timedelta(hours=1), 1)):
        try:
            made = await appointments.add_appointment(
                ctx,
                admin,
                NewAppointment(
                    client_ids=[demo.client_ids[5]],
                    clinicians=[emails[clinician]],
                    start=start.isoformat(),
                    duration_min=45,
                    modality=Modality.TELEHEALTH,
                    status=Status.CONFIRMED,
                ),
            )
        except Conflict:
            continue
        demo.next_telehealth = made[0].id
        break
    # A weekly series: Thursdays 17:00 local, ten sessions from next week.
    thursday = monday + timedelta(days=10)
    series = await appointments.add_appointment(
        ctx,
        admin,
        NewAppointment(
            client_ids=[demo.client_ids[1]],
            clinicians=[emails[0]],
            start=datetime(thursday.year, thursday.month, thursday.day, 17, tzinfo=tz).isoformat(),
            duration_min=50,
            modality=Modality.TELEHEALTH,
            status=Status.CONFIRMED,
            rrule="FREQ=WEEKLY;COUNT=10",
        ),
    )
    demo.appointment_ids += [a.id for a in series]
    return demo


@dataclass(frozen=True)
class DemoLinks:
    """Tokens for the client page (shown once, in the demo's hints) and whose visit it is."""

    #: A join link for the appointment that can start now (its client has not signed
    #: consent yet, so the page asks first).
    join: str | None = None
    #: A consent link for the first demo client.
    consent: str | None = None
    #: The email of that appointment's (first) clinician.
    lead: str | None = None


async def client_links(ctx: Context, admin: Actor, appointment_id: str | None) -> DemoLinks:
    """Make and store (audited) the demo's client links: see ``DemoLinks``."""
    made: list[links.NewLink] = []
    join = None
    found = await ctx.store.get(Appointment, appointment_id) if appointment_id else None
    appt = found
    if appt is not None and appt.client_ids:
        join = links.join_link(ctx, admin, appt, Channel.COPY, client_id=appt.client_ids[0])
        made.append(join)
    client_ids = sorted(c.id for c in await ctx.store.all(Client))
    consent = links.consent_link(ctx, admin, client_ids[0], Channel.COPY) if client_ids else None
    if consent is not None:
        made.append(consent)
    await links.store_links(ctx, admin, [m.link for m in made])
    lead = (
        await ctx.store.get(Staff, appt.clinician_ids[0]) if appt and appt.clinician_ids else None
    )
    return DemoLinks(
        join=join.token if join else None,
        consent=consent.token if consent else None,
        lead=lead.email if lead is not None else None,
    )
