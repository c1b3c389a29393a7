"""Consent: send the form, sign it through a link, record verbal consent, revoke, export.

The ledger is append-only (``ConsentRecord`` per decision); the client's state is the
domain's reading of it against the current form's hash.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Literal

import msgspec

from tlh.api.consent import (
    ConsentRevoke,
    ConsentSend,
    ConsentSent,
    ConsentStatus,
    ConsentSubmission,
    VerbalConsent,
)
from tlh.domain.consent import (
    ConsentDecision,
    ConsentRecord,
    ConsentState,
    consent_blockers,
    consent_state,
    latest_record,
)
from tlh.domain.links import Channel, JoinLink
from tlh.domain.messages import MessageKind
from tlh.domain.models import Appointment, Blocker, Client, Role
from tlh.errors import Conflict, InvalidInput, TooLarge
from tlh.services import audiences, auth, scope
from tlh.services.context import Actor, Context, new_id
from tlh.services.exporting import escape_formula
from tlh.services.links import consent_link, link_url, outreach_of, plain_message
from tlh.services.outbox import enqueue
from tlh.services.recipients import add_address, explicit, load_client
from tlh.store.base import Put
from tlh.store.base import note as audit_note

READERS = (Role.ADMIN, Role.SCHEDULER, Role.CLINICIAN)
#: Verbal consent is an attestation: only someone who heard it (or an admin) records it.
ATTESTERS = (Role.ADMIN, Role.CLINICIAN)
#: Largest signature image accepted (base64 characters).
MAX_SIGNATURE_CHARS = 200_000
_PNG_B64_PREFIX = "iVBORw0KGgo"  # base64 of the PNG signature bytes


class FormChanged(Conflict):
    """The form the client read is not the current one."""

    code = "form_changed"


async def records_of(ctx: Context, client_id: str) -> list[ConsentRecord]:
    """A client's ledger, oldest first."""
    found = await ctx.store.find(ConsentRecord, "client_id", client_id)
    return sorted(found, key=lambda r: (r.at, r.id))


async def signed_through(ctx: Context, link: JoinLink) -> ConsentRecord | None:
    """The decision (accepted or declined) made through a consent link, if any."""
    for record in await ctx.store.find(ConsentRecord, "link_id", link.id):
        if record.decision in (
            ConsentDecision.ACCEPTED,
            ConsentDecision.DECLINED,
        ):
            return record
    return None


async def state_of(ctx: Context, client_id: str, now: datetime | None = None) -> ConsentState:
    """The client's consent state for the current form."""
    outreach, _ = outreach_of(ctx)
    return consent_state(
        await records_of(ctx, client_id), outreach.form_hash, ctx.policy(), now or ctx.clock()
    )


async def consent_check(
    ctx: Context, appt: Appointment
) -> Callable[[Appointment, datetime], tuple[Blocker, ...]]:
    """The eligibility hook of ``appt``: its clients' consent blockers (their records
    are read here, so the domain's check stays synchronous)."""
    outreach, _ = outreach_of(ctx)
    policy = ctx.policy()
    records = {cid: await records_of(ctx, cid) for cid in appt.client_ids}

    def check(appt: Appointment, now: datetime) -> tuple[Blocker, ...]:
        return consent_blockers(appt.client_ids, records, outreach.form_hash, policy, now)

    return check


async def send_consent(
    ctx: Context, actor: Actor, request: ConsentSend, rooms: scope.RoomClients | None = None
) -> ConsentSent:
    """Send a client the consent form's link; the ledger records the request (SENT).

    A clinician sends it to their own clients only (``rooms``: see ``scope``)."""
    auth.require_role(actor, *READERS)
    chan = request.channel
    client = await load_client(ctx, request.client_id)
    await scope.check_client(ctx, actor, client.id, rooms)
    if request.to:
        client = await add_address(ctx, actor, client, chan, request.to)
    recipient = explicit(client, chan)
    outreach, base = outreach_of(ctx)
    made = consent_link(ctx, actor, client.id, Channel(chan.value), by_message=True)
    now = ctx.clock()
    record = ConsentRecord(
        id=new_id("cns"),
        client_id=client.id,
        decision=ConsentDecision.SENT,
        form_hash=outreach.form_hash,
        at=now,
        recorded_by=actor.id,
        link_id=made.link.id,
    )
    message = await plain_message(
        ctx,
        MessageKind.CONSENT_REQUEST,
        chan,
        to=recipient.address,
        key=f"consent:{record.id}:{chan.value}",
        values={"link": link_url(base, made.token), "recipient_name": recipient.name},
        client_id=client.id,
        link_id=made.link.id,
    )
    await ctx.store.commit(
        [Put(made.link), Put(record)],
        audit=[audit_note(actor, "consent.send", client.id, made.link.id, record.id)],
    )
    [queued] = await enqueue(ctx, actor, [message])
    return ConsentSent(record=record, message=queued)


async def record_verbal(
    ctx: Context, actor: Actor, request: VerbalConsent, rooms: scope.RoomClients | None = None
) -> ConsentRecord:
    """Record a verbal consent the caller attests to having heard (a clinician: from
    one of their own clients)."""
    auth.require_role(actor, *ATTESTERS)
    client = await load_client(ctx, request.client_id)
    await scope.check_client(ctx, actor, client.id, rooms)
    text = request.note.strip()
    if not text:
        raise InvalidInput("a verbal consent needs a note (what was said, and how)")
    return await _append(ctx, actor, client, ConsentDecision.VERBAL, text[:2000])


async def revoke_consent(
    ctx: Context, actor: Actor, request: ConsentRevoke, rooms: scope.RoomClients | None = None
) -> ConsentRecord:
    """Record that the client withdrew their consent (a clinician: one of their own)."""
    auth.require_role(actor, *READERS)
    client = await load_client(ctx, request.client_id)
    await scope.check_client(ctx, actor, client.id, rooms)
    return await _append(ctx, actor, client, ConsentDecision.REVOKED, request.note[:2000])


async def _append(
    ctx: Context, actor: Actor, client: Client, decision: ConsentDecision, note: str
) -> ConsentRecord:
    outreach, _ = outreach_of(ctx)
    record = ConsentRecord(
        id=new_id("cns"),
        client_id=client.id,
        decision=decision,
        form_hash=outreach.form_hash,
        at=ctx.clock(),
        recorded_by=actor.id,
        note=note,
    )
    await ctx.store.commit(
        [Put(record)],
        audit=[audit_note(actor, f"consent.{decision.value}", client.id, record.id)],
    )
    event = "consent.accepted" if decision is ConsentDecision.VERBAL else "consent.revoked"
    ctx.events.publish(
        event,
        {"client_id": client.id, "record_id": record.id},
        await audiences.client(ctx, client.id),
    )
    return record


def _signature(value: str | None) -> str:
    if not value:
        raise InvalidInput("please draw your signature")
    data = value.removeprefix("data:image/png;base64,")
    if len(data) > MAX_SIGNATURE_CHARS:
        raise TooLarge("the signature image is too large")
    if not data.startswith(_PNG_B64_PREFIX):
        raise InvalidInput("the signature must be a PNG image")
    return data


async def sign(
    ctx: Context,
    actor: Actor,
    link: JoinLink,
    submission: ConsentSubmission,
    *,
    source: str,
    user_agent: str,
) -> ConsentRecord:
    """Store the decision a client made through ``link`` (idempotent per link+decision)."""
    decision = ConsentDecision(submission.decision)
    assert link.client_id is not None
    outreach, _ = outreach_of(ctx)
    # One decision per link: the check and the commit are one step, so a double tap
    # waits for the first and is answered from it.
    async with ctx.store.locked(f"consent-of-link:{link.id}"):
        earlier = [
            r
            for r in await ctx.store.find(ConsentRecord, "link_id", link.id)
            if r.decision in (ConsentDecision.ACCEPTED, ConsentDecision.DECLINED)
        ]
        if earlier:
            if earlier[0].decision is decision:
                return earlier[0]  # a replay or a double click: the same record
            raise Conflict("consent already recorded")
        if submission.form_hash != outreach.form_hash:
            raise FormChanged("please read the updated form")
        signed_name: str | None = None
        signature: str | None = None
        if decision is ConsentDecision.ACCEPTED:
            signed_name = " ".join((submission.signed_name or "").split())[:200]
            if len(signed_name) < 2:
                raise InvalidInput("please type your full name")
            # Someone using only a keyboard or a screen reader cannot draw: the typed
            # name and an explicit "I agree" are a signature; a drawing is optional.
            if submission.signature_png:
                signature = _signature(submission.signature_png)
            elif not submission.agreed:
                raise InvalidInput('please tick "I agree", or draw your signature')
        record = ConsentRecord(
            id=new_id("cns"),
            client_id=link.client_id,
            decision=decision,
            form_hash=outreach.form_hash,
            at=ctx.clock(),
            signed_name=signed_name,
            signature_png=signature,
            source=source[:100],
            user_agent=user_agent[:500],
            link_id=link.id,
        )
        action = f"consent.{decision.value}"
        await ctx.store.commit(
            [Put(record)], audit=[audit_note(actor, action, link.client_id, record.id)]
        )
    ctx.events.publish(
        f"consent.{decision.value}",
        {"client_id": link.client_id, "record_id": record.id},
        await audiences.client(ctx, link.client_id),
    )
    return record


async def status(
    ctx: Context, actor: Actor, client_id: str | None = None, rooms: scope.RoomClients | None = None
) -> list[ConsentStatus]:
    """Each client's (or one client's) consent state and latest ledger record (a
    clinician: their own clients')."""
    auth.require_role(actor, *READERS)
    if client_id:
        clients = [await load_client(ctx, client_id)]
        await scope.check_client(ctx, actor, client_id, rooms)
    else:
        everyone = await ctx.store.all(Client)
        clients = sorted(
            await scope.visible_clients(ctx, actor, everyone, rooms), key=lambda c: c.id
        )
    outreach, _ = outreach_of(ctx)
    policy, now = ctx.policy(), ctx.clock()
    out: list[ConsentStatus] = []
    for client in clients:
        records = await records_of(ctx, client.id)
        state = consent_state(records, outreach.form_hash, policy, now)
        latest = latest_record(records)
        if latest is not None:
            latest = msgspec.structs.replace(latest, signature_png=None)
        out.append(ConsentStatus(client_id=client.id, state=state, latest=latest))
    return out


_CSV_FIELDS = [
    "id",
    "client_id",
    "decision",
    "form_hash",
    "at",
    "signed_name",
    "source",
    "user_agent",
    "recorded_by",
    "note",
    "link_id",
]


async def export(ctx: Context, actor: Actor, fmt: Literal["csv", "json"]) -> bytes:
    """The whole ledger (audited); CSV leaves the signature images out."""
    auth.require_role(actor, Role.ADMIN)
    records: Sequence[ConsentRecord] = sorted(
        await ctx.store.all(ConsentRecord),
        key=lambda r: (r.at, r.id),
    )
    await ctx.audit.append_many(actor, "consent.export", sorted({r.client_id for r in records}))
    if fmt == "json":
        return msgspec.json.encode(list(records))
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(_CSV_FIELDS)
    for record in records:
        row = msgspec.to_builtins(record)
        writer.writerow([escape_formula(str(row.get(f) or "")) for f in _CSV_FIELDS])
    return buffer.getvalue().encode()
