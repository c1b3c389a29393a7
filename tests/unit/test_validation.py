"""Normalising client details: clear errors that never echo the value."""

from __future__ import annotations

from datetime import date

import pytest

from tlh.errors import InvalidInput
from tlh.services.validation import clean_name, normalise_email, normalise_phone, parse_dob

TODAY = date(2026, 11, 22)


def test_email_is_lower_cased() -> None:
    assert normalise_email("  Ada.Lovelace@Example.COM ") == "ada.lovelace@example.com"


@pytest.mark.parametrize("text", ["", "no-at-sign", "a@b", "two@@example.com", "a b@example.com"])
def test_bad_email_is_rejected_without_echo(text: str) -> None:
    with pytest.raises(InvalidInput) as err:
        normalise_email(text)
    assert err.value.message == "invalid email address"


def test_phone_to_e164() -> None:
    assert normalise_phone("(201) 555-0123") == "+12015550123"
    assert normalise_phone("+44 20 7946 0958") == "+442079460958"
    assert normalise_phone("020 7946 0958", region="GB") == "+442079460958"


@pytest.mark.parametrize("text", ["", "12", "not a phone", "+1 555 0000 0000 0000"])
def test_bad_phone_is_rejected_without_echo(text: str) -> None:
    with pytest.raises(InvalidInput) as err:
        normalise_phone(text)
    assert err.value.message == "invalid phone number"
    if text:
        assert text not in str(err.value)


def test_dob_parses_iso() -> None:
    assert parse_dob("1984-02-29", TODAY) == date(1984, 2, 29)
    assert parse_dob(" 2026-11-22 ", TODAY) == TODAY


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("29/02/1984", "not an ISO date"),
        ("1985-02-29", "not an ISO date"),
        ("2026-11-23", "in the future"),
        ("1899-12-31", "before 1900"),
    ],
)
def test_bad_dob(text: str, reason: str) -> None:
    with pytest.raises(InvalidInput, match=reason) as err:
        parse_dob(text, TODAY)
    assert text not in err.value.message


def test_name_is_stripped_and_markup_kept_literally() -> None:
    assert clean_name("  Ada Lovelace ") == "Ada Lovelace"
    assert clean_name("[red]x[/red]") == "[red]x[/red]"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "name is empty"),
        ("   ", "name is empty"),
        ("x" * 201, "longer than 200"),
        ("Ada\x00", "control characters"),
        ("Ada\nLovelace", "control characters"),
        ("Ada\x1b[31m", "control characters"),
        ("Ada\x7f", "control characters"),
    ],
)
def test_bad_name(text: str, reason: str) -> None:
    with pytest.raises(InvalidInput, match=reason):
        clean_name(text)


def test_name_of_exactly_the_limit_is_accepted() -> None:
    assert clean_name("x" * 200) == "x" * 200
