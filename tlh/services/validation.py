"""Normalising what people type about clients: emails, phones, dates of birth, names.

Every error message here is about the *kind* of problem only: the value itself is
patient data and must never reach a log, an error envelope or a terminal.
"""

from __future__ import annotations

import re
from datetime import date

from tlh.errors import InvalidInput

#: Longest client name accepted (a practice's own systems rarely allow more).
MAX_NAME_CHARS = 200

#: C0 control characters and DEL: they break terminals, CSV files and calendars.
_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]")

#: Dates of birth before this are typing errors, not patients.
EARLIEST_DOB = date(1900, 1, 1)


def normalise_email(text: str) -> str:
    """A syntactically valid email address, lower-cased; no DNS lookup is made.

    Raises ``InvalidInput("invalid email address")`` without echoing the value.
    """
    # Imported here: email_validator pulls in dnspython (~60 ms) that only the
    # services that read client contacts need.
    from email_validator import EmailNotValidError, validate_email

    try:
        result = validate_email(text.strip(), check_deliverability=False)
    except EmailNotValidError:
        raise InvalidInput("invalid email address") from None
    return str(result.normalized).lower()


def normalise_phone(text: str, region: str = "US") -> str:
    """A phone number in E.164 (``+15551234567``); national numbers are read in ``region``.

    Raises ``InvalidInput("invalid phone number")`` without echoing the value.
    """
    # Imported here: phonenumbers loads its metadata on import (~50 ms).
    import phonenumbers

    try:
        parsed = phonenumbers.parse(text.strip(), region)
    except phonenumbers.NumberParseException:
        raise InvalidInput("invalid phone number") from None
    if not phonenumbers.is_valid_number(parsed):
        raise InvalidInput("invalid phone number")
    return str(phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164))


def parse_dob(text: str, today: date) -> date:
    """A date of birth in ISO form (``YYYY-MM-DD``), not after ``today`` nor before 1900."""
    try:
        dob = date.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput("date of birth is not an ISO date (YYYY-MM-DD)") from None
    if dob > today:
        raise InvalidInput("date of birth is in the future")
    if dob < EARLIEST_DOB:
        raise InvalidInput("date of birth is before 1900")
    return dob


def clean_name(text: str) -> str:
    """A display name, stripped; rejects empty, over-long and control characters.

    Rich markup such as ``[red]x[/red]`` is accepted and kept literally: the
    interfaces escape it when they print, so it is data, not a style.
    """
    name = text.strip()
    if not name:
        raise InvalidInput("name is empty")
    if len(name) > MAX_NAME_CHARS:
        raise InvalidInput(f"name is longer than {MAX_NAME_CHARS} characters")
    if _CONTROL_CHARS.search(name):
        raise InvalidInput("name contains control characters")
    return name
