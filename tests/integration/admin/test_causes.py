"""Each cause is found from the texts the engine itself writes, in the database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import text

from tests.integration.admin.support import left, settled
from worker.admin import causes
from worker.domain.policy import Policy, PollState, decide
from worker.domain.types import Direction, Outcome, TransferRef
from worker.engine.sweep.due import unconfigured_reason
from worker.process.db import transaction
from worker.process.runtime import Runtime
from worker.providers.answers import Record, judge

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
OURS = TransferRef("scripted-a", "tx", Direction.DEPOSIT, "player-7", None, Decimal("10.00"),
                   "USD", NOW)


def _review_reason(outcome: Outcome, age: timedelta = timedelta(minutes=1)) -> str:
    decision = decide(outcome, PollState(NOW - age, 3, 0), Policy(), NOW, lambda: 0.0)
    assert decision.reason is not None
    return decision.reason


def _mismatch(**differs: object) -> str:
    record = Record(Outcome.SUCCEEDED, "SUCCESS", amount=Decimal("10.00"), currency="USD")
    verdict = judge(OURS, Record(**{**record.__dict__, **differs}))
    assert verdict.outcome is Outcome.MISMATCH and verdict.detail
    return verdict.detail


# (state, last_outcome, review_reason, last_error) as the engine leaves them -> expected cause
ROWS = {
    "credentials refused": ("needs_review", "AUTH_ERROR", _review_reason(Outcome.AUTH_ERROR),
                            "code 401: bad signature", "auth"),
    "amount alone differs": ("needs_review", "MISMATCH", _review_reason(Outcome.MISMATCH),
                             _mismatch(amount=Decimal("9.00")), "amount_mismatch"),
    "amount and player differ": ("needs_review", "MISMATCH", _review_reason(Outcome.MISMATCH),
                                 _mismatch(amount=Decimal("9.00"), player="someone"),
                                 "record_mismatch"),
    "currency differs": ("needs_review", "MISMATCH", _review_reason(Outcome.MISMATCH),
                         _mismatch(currency="EUR"), "record_mismatch"),
    "max age": ("needs_review", "PENDING", _review_reason(Outcome.PENDING, timedelta(days=4)),
                "status PROCESSING", "max_age"),
    "not configured": ("needs_review", None, unconfigured_reason("gone-7"), None,
                       "not_configured"),
    "unknown review": ("needs_review", "PENDING", "something new", None, "other_review"),
    "never answered": ("pending", None, None, None, "unchecked"),
    "still processing": ("pending", "PENDING", None, "status PROCESSING", "provider_pending"),
    "no record yet": ("pending", "NOT_FOUND", None, None, "not_found"),
    "throttled": ("pending", "RATE_LIMITED", None, "code 429", "rate_limited"),
    "errors": ("pending", "RETRY", None, "HTTP 502", "provider_errors"),
}


@pytest.mark.parametrize("case", ROWS, ids=list(ROWS))
def test_cause_of_a_row_left_by_the_engine(runtime: Runtime, case: str) -> None:
    # given a transfer left by the engine in this state, with the engine's own texts
    state, outcome, reason, error, expected = ROWS[case]
    transfer_id = left(runtime, "tx-cause", state=state, outcome=outcome, reason=reason,
                       error=error)
    # when the database computes its cause
    with transaction(runtime.engine) as session:
        found = session.execute(text(
            f"SELECT {causes.CAUSE_SQL} FROM transfers t WHERE t.id = :id"),
            {"id": transfer_id}).scalar_one()
    # then it is the expected one, and the cause belongs to that state
    assert found == expected
    assert causes.cause(found).state == state


def test_final_transfers_have_no_cause(runtime: Runtime) -> None:
    # given a transfer the provider's answer settled
    transfer_id = settled(runtime, "tx-final")
    # when the database computes its cause, then there is none
    with transaction(runtime.engine) as session:
        found = session.execute(text(
            f"SELECT {causes.CAUSE_SQL} FROM transfers t WHERE t.id = :id"),
            {"id": transfer_id}).scalar_one()
    assert found is None


def test_an_unknown_cause_names_the_known_ones() -> None:
    # when / then
    with pytest.raises(causes.UnknownCause, match="auth, amount_mismatch"):
        causes.cause("authentication")
