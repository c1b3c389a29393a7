"""Copay amounts: decimal strings >= 0 with at most two places, kept with two."""

from __future__ import annotations

import pytest

from tlh.errors import InvalidInput
from tlh.services.appointments import copay_amount


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("25", "25.00"),
        ("25.5", "25.50"),
        (" 0.05 ", "0.05"),
        ("0", "0.00"),
        (12, "12.00"),
        ("", None),
        (None, None),
    ],
)
def test_amounts_are_normalised(given: object, kept: str | None) -> None:
    assert copay_amount(given) == kept


@pytest.mark.parametrize(
    "bad", ["-1", "1.234", "1e3", "NaN", "1.2.3", ".", "ten", "12345678901234", 1.005]
)
def test_bad_amounts_are_refused_with_one_line(bad: object) -> None:
    with pytest.raises(InvalidInput) as caught:
        copay_amount(bad)
    assert "\n" not in str(caught.value)
