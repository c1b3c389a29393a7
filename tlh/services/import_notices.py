"""What an import sends: the rules one booking (``tlh.services.booking``) and one change
(``tlh.services.followups``) follow, planned for every row before anything is written,
so that a dry run lists exactly what the real run sends.

- a telehealth visit the import creates is invited when the policy's
  ``invite_on_create`` holds (a series row: its first occurrence);
- a visit it moves, cancels or turns in person or telehealth is followed up;
- a reminder already due for a visit it writes goes out with the reminder clock's next
  tick (unless the invitation just sent stands in for it).

``notify=False`` sends nothing: no invitation, no follow-up notice, and the reminders
already due are held back (recorded in the outbox as ``skipped``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tlh.api.appointments import Outgoing
from tlh.domain.models import Appointment, Client
from tlh.domain.reminders import ReminderDue, due_reminders
from tlh.services import notices
from tlh.services.context import Context
from tlh.services.followups import Followup, plan_followup
from tlh.services.import_plan import ImportPlan
from tlh.services.recipients import by_settings
from tlh.services.reminder_clock import outboxes_of


@dataclass
class ImportNotices:
    """What an import's writes send (or, ``notify=False``, hold back)."""

    followup: Followup = field(default_factory=Followup)
    #: Reminders due at once for the visits it writes (the clock sends them).
    reminders: list[tuple[Appointment, ReminderDue]] = field(default_factory=list)
    #: The import row of each appointment it writes.
    rows: dict[str, int] = field(default_factory=dict)
    clients: dict[str, Client] = field(default_factory=dict)

    async def outgoing(self, ctx: Context) -> list[Outgoing]:
        """Every message, as the report lists it (ids only)."""
        out = [p.outgoing(self.rows.get(p.appt.id)) for p in self.followup.planned]
        find = _client_of(ctx, self.clients)
        for appt, due in self.reminders:
            for client_id in appt.client_ids:
                client = await find(client_id)
                if client is None:
                    continue
                for channel in due.channels:
                    out += [
                        Outgoing(
                            kind=due.kind,
                            channel=channel,
                            appointment_id=appt.id,
                            client_id=client.id,
                            contact_id=r.contact_id,
                            row=self.rows.get(appt.id),
                        )
                        for r in by_settings(client, channel)
                    ]
        return out


def _client_of(ctx: Context, new: dict[str, Client]) -> notices.ClientOf:
    stored = notices.stored_clients(ctx)

    async def find(client_id: str) -> Client | None:
        return new.get(client_id) or await stored(client_id)

    return find


async def plan_notices(ctx: Context, plan: ImportPlan, *, notify: bool) -> ImportNotices:
    """What ``plan``'s writes send; reads the store (as it is before the commit)."""
    found = ImportNotices(
        rows={a.id: row for row, a in [*plan.made, *plan.changed]},
        clients={c.id: c for _, c in plan.new_clients},
    )
    find = _client_of(ctx, found.clients)
    for _, after in plan.changed:
        before = await ctx.store.get(Appointment, after.id)
        if before is not None:
            found.followup.add(
                await plan_followup(ctx, before, after, notify=notify, client_of=find)
            )
    if notify and ctx.policy().invite_on_create:
        # A series row invites its first occurrence (the one the row's report names).
        firsts = {r.id for r in plan.rows if r.action == "create"}
        for _, appt in plan.made:
            if appt.id in firsts:
                planned, reasons = await notices.plan_invitations(ctx, appt, find)
                found.followup.planned += planned
                found.followup.warnings += [(appt.id, r) for r in reasons]
    found.reminders = await _due_now(ctx, plan, found.followup)
    return found


async def _due_now(
    ctx: Context, plan: ImportPlan, followup: Followup
) -> list[tuple[Appointment, ReminderDue]]:
    """The reminders due at once for the visits ``plan`` writes, as they will be."""
    now, policy = ctx.clock(), ctx.policy()
    invited = {p.appt.id for p in followup.planned if p.link}
    made = {a.id for _, a in plan.made}
    changed = [appt for _, appt in plan.changed if appt.id not in made]
    outboxes = await outboxes_of(ctx, changed)  # one read for every changed visit
    due: list[tuple[Appointment, ReminderDue]] = []
    for _, appt in [*plan.made, *plan.changed]:
        already, at = outboxes.get(appt.id, (set(), None))
        if appt.id in invited:
            at = now  # the invitation or new link it gets now stands in for a reminder
        due += [(appt, d) for d in due_reminders(appt, policy, now, already, at)]
    return due
