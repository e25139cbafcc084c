"""A queue with transfers waiting for a person for several causes, on two instances, in two
currencies, with pending ones on both sides of the one-hour threshold and final ones besides."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import text

from tests.integration.admin.support import checked
from tests.integration.helpers import register
from worker.domain.types import Outcome
from worker.process.db import transaction
from worker.process.runtime import Runtime

H = timedelta(hours=1)
M = timedelta(minutes=1)
AMOUNT_ONLY = "record differs: amount: provider 6.00, ours 7.00"
MAX_AGE = "no final answer within max age 72h (41 checks)"


def left(runtime: Runtime, tx_id: str, *, provider: str = "scripted-a", amount: str = "1.00",
         currency: str = "USD", state: str = "pending", outcome: str | None = None,
         reason: str | None = None, error: str | None = None) -> int:
    """A transfer as the engine leaves it in `state`, written straight into its row."""
    transfer_id = register(runtime, tx_id=tx_id, provider=provider, amount=amount,
                           currency=currency)
    with transaction(runtime.engine) as session:
        session.execute(text(
            "UPDATE transfers SET state = :state, last_outcome = :outcome, "
            "review_reason = :reason, last_error = :error WHERE id = :id"),
            {"state": state, "outcome": outcome, "reason": reason, "error": error,
             "id": transfer_id})
    return transfer_id


def registered_ago(runtime: Runtime, transfer_id: int, now: datetime, age: timedelta) -> None:
    with transaction(runtime.engine) as session:
        session.execute(text("UPDATE transfers SET created_at = :at WHERE id = :id"),
                        {"at": now - age, "id": transfer_id})


def a_mixed_queue(runtime: Runtime, now: datetime) -> None:
    """scripted-a: three refused credentials (10 and 2.25 USD, 5.5 EUR; oldest 3 h), one
    amount mismatch (7 USD, 10 min), one pending the provider still processes (5 h), one
    pending never answered but young (10 min). scripted-b: one past max age (100 USD, 4 days),
    two pending never answered (1 USD 2 h, 3 EUR 90 min) and one never answered but young.
    Final transfers of both outcomes, registered long ago."""
    for tx_id, outcome in (("final-ok", Outcome.SUCCEEDED), ("final-failed", Outcome.FAILED)):
        final = register(runtime, tx_id=tx_id)
        registered_ago(runtime, final, now, 5 * H)  # before it settles: a final row never changes
        checked(runtime, final, tx_id, [outcome])
    ages = {}
    ages[left(runtime, "a-amount", amount="7.00", state="needs_review", outcome="MISMATCH",
              reason="provider's record disagrees with ours", error=AMOUNT_ONLY)] = 10 * M
    ages[left(runtime, "a-processing", outcome="PENDING", error="status PROCESSING")] = 5 * H
    ages[left(runtime, "a-young", amount="50.00")] = 10 * M
    ages[left(runtime, "b-max-age", provider="scripted-b", amount="100.00", state="needs_review",
              outcome="PENDING", reason=MAX_AGE)] = 4 * 24 * H
    ages[left(runtime, "b-old-1", provider="scripted-b", amount="1.00")] = 2 * H
    ages[left(runtime, "b-old-2", provider="scripted-b", amount="3.00", currency="EUR")] = 90 * M
    ages[left(runtime, "b-young", provider="scripted-b", amount="8.00")] = 59 * M
    # Refused credentials the engine's own way: a check answered AUTH_ERROR. Each checked
    # transfer is registered last, as `checked` claims every due one.
    for tx_id, amount, currency, age in (("a-auth-1", "10.00", "USD", 3 * H),
                                         ("a-auth-2", "5.50", "EUR", 30 * M),
                                         ("a-auth-3", "2.25", "USD", 2 * H)):
        transfer_id = register(runtime, tx_id=tx_id, amount=amount, currency=currency)
        checked(runtime, transfer_id, tx_id, [Outcome.AUTH_ERROR])
        ages[transfer_id] = age
    for transfer_id, age in ages.items():
        registered_ago(runtime, transfer_id, now, age)

