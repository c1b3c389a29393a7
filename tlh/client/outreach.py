"""Reaching clients: ``client.invites``, ``client.links``, ``client.consents`` and
``client.outbox``."""

from __future__ import annotations

import builtins
from datetime import date

from tlh.api.consent import ConsentRevoke, ConsentSend, ConsentSent, ConsentStatus, VerbalConsent
from tlh.api.invites import (
    CopyLink,
    DayInvite,
    DayInvites,
    GuestLink,
    Invite,
    LinkUrl,
    QuickInvite,
    QuickSession,
    Sent,
    WebsiteSnippet,
)
from tlh.domain.consent import ConsentRecord
from tlh.domain.links import JoinLink
from tlh.domain.messages import Message

from .http import EMPTY, Part, build, query, seg

#: A whole day's invitations may render and queue hundreds of messages.
DAY_TIMEOUT = 300.0


class InvitesApi(Part):
    """Invitations and the links staff hand out."""

    async def send(
        self,
        appointment_id: str,
        channel: str = "email",
        to: str | None = None,
        contact_id: str | None = None,
    ) -> Sent:
        """Send an appointment's join link by email or SMS; ``to`` adds a missing address
        to the client's (or contact's) record first (audited)."""
        whom = {"channel": channel, "to": to, "contact_id": contact_id}
        asked = build(Invite, {"appointment_id": appointment_id, **whom})
        return await self._http.get(Sent, "POST", "/api/v1/invites", asked)

    async def day(self, day: date | str, channel: str = "email") -> DayInvites:
        """Invite every telehealth appointment of a local day."""
        when = day.isoformat() if isinstance(day, date) else day
        asked = build(DayInvite, {"date": when, "channel": channel})
        path = "/api/v1/invites/day"
        return await self._http.get(DayInvites, "POST", path, asked, wait_s=DAY_TIMEOUT)

    async def link(self, appointment_id: str, contact_id: str | None = None) -> LinkUrl:
        """A new join link for copying (channel ``copy``); the URL is shown once."""
        asked = CopyLink(appointment_id=appointment_id, contact_id=contact_id)
        return await self._http.get(LinkUrl, "POST", "/api/v1/invites/link", asked)

    async def quick(
        self,
        client_id: str,
        clinician: str | None = None,
        channel: str | None = None,
        to: str | None = None,
    ) -> QuickInvite:
        """An unscheduled telehealth session now, with its link (sent, or for copying)."""
        whom = {"clinician": clinician, "channel": channel, "to": to}
        asked = build(QuickSession, {"client_id": client_id, **whom})
        return await self._http.get(QuickInvite, "POST", "/api/v1/invites/quick", asked)

    async def guest(self, clinician: str) -> LinkUrl:
        """An invite-others link into a clinician's waiting room."""
        asked = GuestLink(clinician=clinician)
        return await self._http.get(LinkUrl, "POST", "/api/v1/invites/guest", asked)

    async def website(self, clinician: str) -> WebsiteSnippet:
        """The HTML snippet that lets website visitors enter a clinician's waiting room."""
        path = "/api/v1/invites/website" + query({"clinician": clinician})
        return await self._http.get(WebsiteSnippet, "GET", path)


class LinksApi(Part):
    """Join links already made."""

    async def list(self, appointment_id: str) -> builtins.list[JoinLink]:
        """An appointment's join links (token hashes blanked by the server)."""
        path = f"/api/v1/appointments/{seg(appointment_id)}/links"
        return await self._http.items(JoinLink, path)

    async def revoke(self, link_id: str) -> JoinLink:
        """Revoke a link: it admits nobody from now on."""
        return await self._http.get(JoinLink, "POST", f"/api/v1/links/{seg(link_id)}/revoke", EMPTY)

    async def resend(self, link_id: str) -> Sent:
        """Revoke a link and send its holder a new one."""
        return await self._http.get(Sent, "POST", f"/api/v1/links/{seg(link_id)}/resend", EMPTY)


class ConsentsApi(Part):
    """The consent ledger."""

    async def send(
        self, client_id: str, channel: str = "email", to: str | None = None
    ) -> ConsentSent:
        """Send the client the consent form's link by email or SMS."""
        asked = build(ConsentSend, {"client_id": client_id, "channel": channel, "to": to})
        return await self._http.get(ConsentSent, "POST", "/api/v1/consents/send", asked)

    async def verbal(self, client_id: str, note: str) -> ConsentRecord:
        """Record a verbal consent; the caller (a clinician or admin) attests to it."""
        heard = VerbalConsent(client_id=client_id, note=note)
        return await self._http.get(ConsentRecord, "POST", "/api/v1/consents/verbal", heard)

    async def list(self, client_id: str | None = None) -> builtins.list[ConsentStatus]:
        """Consent state per client (one client, or every client)."""
        path = "/api/v1/consents" + query({"client": client_id})
        return await self._http.items(ConsentStatus, path)

    async def revoke(self, client_id: str, note: str | None = None) -> ConsentRecord:
        """Record that the client withdrew their consent."""
        withdrawn = ConsentRevoke(client_id=client_id, note=note or "")
        return await self._http.get(ConsentRecord, "POST", "/api/v1/consents/revoke", withdrawn)

    async def export(self, fmt: str = "csv") -> bytes:
        """The consent ledger as a CSV or JSON file (admin)."""
        path = "/api/v1/consents/export" + query({"format": fmt})
        return await self._http.call("GET", path, wait_s=DAY_TIMEOUT)


class OutboxApi(Part):
    """Messages queued, sent or failed (their bodies are PHI: every read is audited)."""

    async def list(
        self, status: str | None = None, since: str | None = None
    ) -> builtins.list[Message]:
        """Messages made since the day ``since`` (default: the last 30 days) and those
        not sent yet, optionally of one status."""
        path = "/api/v1/outbox" + query({"status": status, "since": since})
        return await self._http.items(Message, path)

    async def get(self, message_id: str) -> Message:
        """One message with its rendered text."""
        return await self._http.get(Message, "GET", f"/api/v1/outbox/{seg(message_id)}")
