"""The practice's contact, shown on the client page: one short line, an email an email."""

from __future__ import annotations

import pytest

from tlh.domain.models import Policy
from tlh.domain.policy import check
from tlh.errors import InvalidInput


@pytest.mark.parametrize(
    ("field", "value"),
    [("contact_phone", "+1 555\n0100"), ("contact_phone", "9" * 81), ("contact_email", "desk")],
)
def test_a_contact_that_cannot_be_shown_is_refused(field: str, value: str) -> None:
    with pytest.raises(InvalidInput, match=field):
        check(Policy(practice_name="P", **{field: value}))


def test_a_plain_contact_is_kept() -> None:
    check(Policy(practice_name="P", contact_phone="+1 555 0100", contact_email="a@b.org"))
