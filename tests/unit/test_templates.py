"""Message templates: the shipped set loads and renders; every fault is caught at load."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tlh.domain.messages import MessageChannel, MessageKind
from tlh.domain.models import Appointment, Modality, Policy, Status
from tlh.errors import InvalidInput
from tlh.messaging.templates import (
    Templates,
    appointment_values,
    default_consent_path,
    default_templates_dir,
    form_hash,
)

REPO = Path(__file__).resolve().parents[2]
CONFIG_CONSENT = REPO / "config" / "consent" / "telehealth.md"
LINK = "https://tlh.example.org/j#tok3n"
VALUES = {
    "practice_name": "Riverside Counselling",
    "date": "Monday, November 23, 2026",
    "time": "10:00 AM",
    "timezone": "EST",
    "link": LINK,
    "clinician_name": "Dr Lee",
    "recipient_name": "Sam",
    "video": "yes",
}
E, S = MessageChannel.EMAIL, MessageChannel.SMS
NOW = datetime(2026, 11, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def shipped() -> Templates:
    return Templates.load(default_templates_dir())


@pytest.fixture
def tdir(tmp_path: Path) -> Path:
    """A writable copy of the shipped templates."""
    target = tmp_path / "templates"
    shutil.copytree(default_templates_dir(), target)
    return target


def test_packaged_consent_form_equals_the_config_copy() -> None:
    assert default_consent_path().read_bytes() == CONFIG_CONSENT.read_bytes()


#: Kinds whose messages carry a join link (the identity code does not:
#: tests/unit/test_identity_templates.py; the portal's: tests/unit/test_portal_templates.py).
PORTAL_KINDS = (MessageKind.PORTAL_CODE, MessageKind.PORTAL_INVITE)
LINK_KINDS = [
    k for k in MessageKind if k is not MessageKind.IDENTITY_CODE and k not in PORTAL_KINDS
]
#: Kinds that tell of a link that stopped working, and offer none.
NO_LINK_KINDS = (MessageKind.CANCELLATION, MessageKind.IN_PERSON)


@pytest.mark.parametrize("kind", LINK_KINDS)
def test_every_shipped_email_renders(shipped: Templates, kind: MessageKind) -> None:
    out = shipped.render(kind, E, VALUES)
    assert "Riverside Counselling" in out.subject
    assert "Riverside Counselling" in out.text
    assert out.html is not None
    assert out.html.startswith("<!DOCTYPE html>")
    assert '<html lang="en">' in out.html
    assert "{" not in out.text + out.subject  # every placeholder filled
    if kind in NO_LINK_KINDS:
        assert LINK not in out.text  # the dead link is not offered again
    else:
        assert f"Join here: {LINK}" in out.text or f"form: {LINK}" in out.text
        assert f'<a href="{LINK}"' in out.html
        assert "padding:16px 32px" in out.html  # a real, large button


@pytest.mark.parametrize("kind", LINK_KINDS)
def test_every_shipped_sms_renders_with_and_without_link(
    shipped: Templates, kind: MessageKind
) -> None:
    with_link = shipped.render(kind, S, VALUES)
    without = shipped.render(kind, S, {**VALUES, "link": ""})
    assert with_link.subject == ""
    assert with_link.html is None
    assert "Riverside Counselling" in without.text
    assert "http" not in without.text
    assert "Join here: \n" not in without.text
    assert not without.text.endswith(":")
    if kind not in NO_LINK_KINDS:
        assert LINK in with_link.text


def test_sms_reminder_without_link_reads_well(shipped: Templates) -> None:
    out = shipped.render(MessageKind.REMINDER_SOON, S, {**VALUES, "link": ""})
    assert out.text == (
        "Reminder: your Riverside Counselling video appointment is at 10:00 AM EST today.\n"
        "Join with the link in your email."
    )
    out = shipped.render(MessageKind.REMINDER_24H, S, {**VALUES, "link": ""})
    assert out.text == (
        "Reminder: your Riverside Counselling video appointment is on "
        "Monday, November 23, 2026 at 10:00 AM EST."
    )


@pytest.mark.parametrize("kind", [MessageKind.REMINDER_24H, MessageKind.REMINDER_SOON])
def test_a_reminder_of_a_visit_that_cannot_be_by_video_reads_as_an_ordinary_one(
    shipped: Templates, kind: MessageKind
) -> None:
    values = {**VALUES, "link": "", "video": ""}
    for channel in (E, S):
        out = shipped.render(kind, channel, values)
        for part in (out.subject, out.text, out.html or ""):
            assert "video appointment" not in part
            assert "Use the link" not in part
            assert "Join with the link" not in part
        assert "cannot take place by video" in out.text
    assert "cannot take place by video" in (shipped.render(kind, E, values).html or "")


def test_html_escapes_every_value(shipped: Templates) -> None:
    hostile = {**VALUES, "recipient_name": "<script>alert(1)</script>", "practice_name": 'A&B "x"'}
    out = shipped.render(MessageKind.INVITATION, E, hostile)
    assert out.html is not None
    assert "<script>" not in out.html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in out.html
    assert "A&amp;B &quot;x&quot;" in out.html
    # The plain text is not HTML: it shows the value as written.
    assert "<script>alert(1)</script>" in out.text


def test_newlines_in_values_cannot_inject_lines(shipped: Templates) -> None:
    out = shipped.render(MessageKind.INVITATION, E, {**VALUES, "practice_name": "X\r\nBcc: a@b.c"})
    assert "\n" not in out.subject
    assert "X Bcc: a@b.c" in out.subject


def test_link_must_be_http(shipped: Templates) -> None:
    with pytest.raises(InvalidInput, match="http"):
        shipped.render(MessageKind.INVITATION, E, {**VALUES, "link": "javascript:alert(1)"})


def test_missing_value_is_named(shipped: Templates) -> None:
    values = {k: v for k, v in VALUES.items() if k != "clinician_name"}
    with pytest.raises(InvalidInput, match=r"\{clinician_name\}"):
        shipped.render(MessageKind.INVITATION, E, values)


def test_conditional_line_with_missing_value_is_dropped(shipped: Templates) -> None:
    values = {k: v for k, v in VALUES.items() if k != "link"}
    out = shipped.render(MessageKind.REMINDER_24H, S, values)
    assert "Join" not in out.text


def test_unknown_placeholder_names_file_line_and_name(tdir: Path) -> None:
    path = tdir / "reminder_soon.email.txt"
    lines = path.read_text().splitlines()
    lines[3] = "Your diagnosis: {diagnosis}"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(InvalidInput) as err:
        Templates.load(tdir)
    message = str(err.value)
    assert "reminder_soon.email.txt" in message
    assert "line 4" in message
    assert "{diagnosis}" in message


def test_unknown_placeholder_in_subject(tdir: Path) -> None:
    path = tdir / "invitation.email.txt"
    path.write_text("Subject: Hi {first_name}\n\nBody\n")
    with pytest.raises(InvalidInput, match=r"invitation\.email\.txt line 1: .*\{first_name\}"):
        Templates.load(tdir)


def test_unknown_placeholder_in_sms_and_html(tdir: Path) -> None:
    (tdir / "cancellation.sms.txt").write_text("ok\n{notes}\n")
    with pytest.raises(InvalidInput, match=r"cancellation\.sms\.txt line 2: .*\{notes\}"):
        Templates.load(tdir)
    shutil.copy(default_templates_dir() / "cancellation.sms.txt", tdir / "cancellation.sms.txt")
    html_path = tdir / "reschedule.email.html"
    html_path.write_text(html_path.read_text().replace("{time}", "{dob}", 1))
    with pytest.raises(InvalidInput, match=r"reschedule\.email\.html line \d+: .*\{dob\}"):
        Templates.load(tdir)


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("Dear {recipient_name", "malformed braces"),
        ("Dear recipient_name}", "malformed braces"),
        ("Time: {time:>10}", "no format"),
        ("Time: {time!r}", "no format"),
        ("Name: {}", "unknown placeholder"),
        ("Name: {0}", "unknown placeholder"),
        ("Link: {link.scheme}", "unknown placeholder"),
        ("?diagnosis Your diagnosis", "unknown name"),
    ],
)
def test_malformed_template_lines(tdir: Path, line: str, reason: str) -> None:
    (tdir / "invitation.sms.txt").write_text(f"first line\n{line}\n")
    with pytest.raises(InvalidInput, match=reason) as err:
        Templates.load(tdir)
    assert "invitation.sms.txt line 2" in str(err.value)


def test_literal_braces_are_allowed(tdir: Path) -> None:
    (tdir / "invitation.sms.txt").write_text("{{braces}} at {time}\n")
    out = Templates.load(tdir).render(MessageKind.INVITATION, S, VALUES)
    assert out.text == "{braces} at 10:00 AM"


def test_negated_condition(tdir: Path) -> None:
    (tdir / "invitation.sms.txt").write_text("A\n?link has {link}\n?!link no link\n")
    templates = Templates.load(tdir)
    assert templates.render(MessageKind.INVITATION, S, VALUES).text == f"A\nhas {LINK}"
    assert templates.render(MessageKind.INVITATION, S, {**VALUES, "link": ""}).text == "A\nno link"


@pytest.mark.parametrize("name", ["consent_request.sms.txt", "reminder_24h.email.html"])
def test_missing_file_fails_at_load(tdir: Path, name: str) -> None:
    (tdir / name).unlink()
    with pytest.raises(InvalidInput, match=f"{name}.* is missing"):
        Templates.load(tdir)


@pytest.mark.parametrize(
    "text", ["Hello {recipient_name}\n\nBody\n", "Subject: x\nBody right away\n", "Subject: x\n"]
)
def test_email_needs_subject_and_blank_line(tdir: Path, text: str) -> None:
    (tdir / "reschedule.email.txt").write_text(text)
    with pytest.raises(InvalidInput, match=r"reschedule\.email\.txt line 1: .*Subject"):
        Templates.load(tdir)


def test_not_utf8_fails_at_load(tdir: Path) -> None:
    (tdir / "invitation.sms.txt").write_bytes(b"caf\xe9 {time}\n")
    with pytest.raises(InvalidInput, match="UTF-8"):
        Templates.load(tdir)


def test_form_hash_is_sha256_of_utf8() -> None:
    assert form_hash("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert form_hash("é") != form_hash("e")
    text = CONFIG_CONSENT.read_text(encoding="utf-8")
    assert len(form_hash(text)) == 64
    assert 300 <= len(text.split()) <= 550


def test_consent_form_covers_the_essentials() -> None:
    text = CONFIG_CONSENT.read_text(encoding="utf-8").lower()
    for topic in ("privacy", "risk", "emergenc", "record", "withdraw"):
        assert topic in text


@pytest.mark.parametrize(
    ("start", "date", "time", "tzname"),
    [
        (datetime(2026, 11, 23, 15, 0, tzinfo=UTC), "Monday, November 23, 2026", "10:00 AM", "EST"),
        (datetime(2026, 7, 1, 19, 5, tzinfo=UTC), "Wednesday, July 1, 2026", "3:05 PM", "EDT"),
        (datetime(2026, 3, 2, 5, 30, tzinfo=UTC), "Monday, March 2, 2026", "12:30 AM", "EST"),
        (datetime(2026, 3, 2, 17, 0, tzinfo=UTC), "Monday, March 2, 2026", "12:00 PM", "EST"),
    ],
)
def test_appointment_values_in_practice_zone(
    start: datetime, date: str, time: str, tzname: str
) -> None:
    appt = Appointment(
        id="apt_1",
        modality=Modality.TELEHEALTH,
        status=Status.CONFIRMED,
        clinician_ids=("stf_1",),
        start=start,
        duration_min=50,
        notes="private notes",
        created_at=NOW,
        updated_at=NOW,
    )
    policy = Policy(practice_name="Riverside", timezone="America/New_York")
    values = appointment_values(appt, policy, link=LINK, clinician_name="Dr Lee")
    assert values == {
        "practice_name": "Riverside",
        "date": date,
        "time": time,
        "timezone": tzname,
        "link": LINK,
        "clinician_name": "Dr Lee",
        "recipient_name": "",
        "video": "yes",
    }
