"""The consent ledger: every derived state, and the blockers eligibility gets from it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tlh.domain.consent import (
    ConsentDecision,
    ConsentRecord,
    ConsentState,
    consent_blockers,
    consent_state,
    latest_record,
)
from tlh.domain.models import Policy

NOW = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
FORM = "a" * 64
OLD_FORM = "b" * 64
POLICY = Policy(practice_name="p", consent_valid_days=365)
D = ConsentDecision


def rec(decision: ConsentDecision, days_ago: float, form: str = FORM, n: int = 0) -> ConsentRecord:
    return ConsentRecord(
        id=f"con_{decision.value}_{days_ago}_{n}",
        client_id="cli_1",
        decision=decision,
        form_hash=form,
        at=NOW - timedelta(days=days_ago),
    )


@pytest.mark.parametrize(
    ("records", "state"),
    [
        ([], ConsentState.NONE),
        ([rec(D.SENT, 2)], ConsentState.SENT),
        ([rec(D.SENT, 2), rec(D.ACCEPTED, 1)], ConsentState.VALID),
        ([rec(D.VERBAL, 1)], ConsentState.VALID),
        ([rec(D.SENT, 2), rec(D.DECLINED, 1)], ConsentState.DECLINED),
        ([rec(D.ACCEPTED, 2), rec(D.REVOKED, 1)], ConsentState.REVOKED),
        ([rec(D.ACCEPTED, 10, OLD_FORM)], ConsentState.OUTDATED),
        ([rec(D.VERBAL, 10, OLD_FORM)], ConsentState.OUTDATED),
        ([rec(D.ACCEPTED, 400)], ConsentState.EXPIRED),
        ([rec(D.VERBAL, 365)], ConsentState.EXPIRED),  # exactly at the limit
        ([rec(D.ACCEPTED, 364.99)], ConsentState.VALID),
        # Re-sending the form does not undo a valid signature ...
        ([rec(D.ACCEPTED, 3), rec(D.SENT, 1)], ConsentState.VALID),
        # ... but a new request after a dead decision is news: it is out for signing.
        ([rec(D.DECLINED, 3), rec(D.SENT, 1)], ConsentState.SENT),
        ([rec(D.ACCEPTED, 3, OLD_FORM), rec(D.SENT, 1)], ConsentState.SENT),
        ([rec(D.REVOKED, 3), rec(D.SENT, 1)], ConsentState.SENT),
        # A new signature after a revocation counts again.
        ([rec(D.ACCEPTED, 5), rec(D.REVOKED, 3), rec(D.ACCEPTED, 1)], ConsentState.VALID),
        ([rec(D.DECLINED, 5), rec(D.ACCEPTED, 1)], ConsentState.VALID),
    ],
)
def test_state(records: list[ConsentRecord], state: ConsentState) -> None:
    assert consent_state(records, FORM, POLICY, NOW) is state
    # The ledger arrives in any order: the answer does not depend on it.
    assert consent_state(list(reversed(records)), FORM, POLICY, NOW) is state


def test_zero_validity_days_never_expires() -> None:
    forever = Policy(practice_name="p", consent_valid_days=0)
    assert consent_state([rec(D.ACCEPTED, 5000)], FORM, forever, NOW) is ConsentState.VALID


def test_records_after_now_are_ignored() -> None:
    later = rec(D.REVOKED, -1)
    assert consent_state([rec(D.ACCEPTED, 1), later], FORM, POLICY, NOW) is ConsentState.VALID


def test_equal_times_later_in_list_wins() -> None:
    accepted, revoked = rec(D.ACCEPTED, 1), rec(D.REVOKED, 1)
    assert consent_state([accepted, revoked], FORM, POLICY, NOW) is ConsentState.REVOKED
    assert consent_state([revoked, accepted], FORM, POLICY, NOW) is ConsentState.VALID


LEDGER = {
    "cli_ok": [rec(D.ACCEPTED, 1)],
    "cli_sent": [rec(D.SENT, 1)],
    "cli_old": [rec(D.ACCEPTED, 400)],
    "cli_no": [rec(D.DECLINED, 1)],
    "cli_rev": [rec(D.ACCEPTED, 3), rec(D.REVOKED, 1)],
    "cli_prev": [rec(D.ACCEPTED, 3, OLD_FORM)],
}


def test_blockers_one_per_client_without_valid_consent() -> None:
    ids = ["cli_ok", "cli_none", "cli_sent", "cli_old", "cli_no", "cli_rev", "cli_prev"]
    blockers = consent_blockers(ids, LEDGER, FORM, POLICY, NOW)
    assert [b.code for b in blockers] == [
        "consent_missing",
        "consent_missing",
        "consent_expired",
        "consent_declined",
        "consent_revoked",
        "consent_outdated",
    ]
    assert blockers[0].message == "client cli_none has no telehealth consent on file"
    for blocker, client_id in zip(blockers, ids[1:], strict=True):
        assert client_id in blocker.message


def test_no_blockers_when_all_valid_or_not_required() -> None:
    assert consent_blockers(["cli_ok"], LEDGER, FORM, POLICY, NOW) == ()
    relaxed = Policy(practice_name="p", consent_required=False)
    assert consent_blockers(["cli_none", "cli_no"], LEDGER, FORM, relaxed, NOW) == ()


def test_a_client_listed_twice_blocks_once() -> None:
    assert len(consent_blockers(["cli_none", "cli_none"], LEDGER, FORM, POLICY, NOW)) == 1


def test_latest_record() -> None:
    sent, accepted = rec(D.SENT, 1), rec(D.ACCEPTED, 2)
    assert latest_record([]) is None
    assert latest_record([sent, accepted]) == sent
    assert latest_record([accepted, sent]) == sent
