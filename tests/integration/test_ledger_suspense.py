"""Settling an amount mismatch at the provider's amount: worked examples of the postings.

Each example is the README's ledger table, row by row: the postings, every balance, and the
sum of each currency's balances staying zero.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from tests.integration.admin.support import in_review, mismatched
from tests.integration.support import entries, events, register
from tests.unit.events.schemas import problems
from worker.admin import actions
from worker.domain.refusal import InvalidInput
from worker.engine.resolve import ledger
from worker.process.db import transaction

pytestmark = pytest.mark.integration


def balances(engine) -> dict[str, Decimal]:
    with transaction(engine) as session:
        return {code: balance for code, _kind, _currency, balance in ledger.balances(session)}


def totals(engine) -> dict[str, Decimal]:
    with transaction(engine) as session:
        return ledger.currency_totals(session)


def test_a_deposit_the_provider_recorded_less_of_parks_the_difference_in_suspense(runtime, engine):
    # given a deposit of 100 the provider recorded as 90
    transfer_id = mismatched(runtime, "dep-less", "100.00", "90.00")

    # when an admin settles it at the provider's amount
    actions.resolve_by_hand(engine, transfer_id, "succeeded", actor="olga",
                            reason="provider statement shows 90 credited",
                            at_provider_amount=True)

    # then 90 is settled and the 10 we took but the provider did not get sits in suspense
    assert entries(engine, transfer_id) == [
        ("hold", "player:player-7", "transit:scripted-a", Decimal("100.0000")),
        ("settle", "transit:scripted-a", "settled:scripted-a", Decimal("90.0000")),
        ("adjust", "transit:scripted-a", "suspense:scripted-a", Decimal("10.0000")),
    ]
    assert balances(engine) == {
        "player:player-7": Decimal("-100.0000"), "transit:scripted-a": Decimal("0.0000"),
        "settled:scripted-a": Decimal("90.0000"), "suspense:scripted-a": Decimal("10.0000")}
    assert totals(engine) == {"USD": Decimal("0")}


def test_a_deposit_the_provider_recorded_more_of_draws_the_difference_from_suspense(runtime,
                                                                                    engine):
    # given a deposit of 100 the provider recorded as 120
    transfer_id = mismatched(runtime, "dep-more", "100.00", "120.00")

    # when an admin settles it at the provider's amount
    actions.resolve_by_hand(engine, transfer_id, "succeeded", actor="olga",
                            reason="provider credited 120", at_provider_amount=True)

    # then 120 is settled; transit is square; suspense is short the 20 nobody paid for
    assert entries(engine, transfer_id)[1:] == [
        ("adjust", "suspense:scripted-a", "transit:scripted-a", Decimal("20.0000")),
        ("settle", "transit:scripted-a", "settled:scripted-a", Decimal("120.0000")),
    ]
    assert balances(engine) == {
        "player:player-7": Decimal("-100.0000"), "transit:scripted-a": Decimal("0.0000"),
        "settled:scripted-a": Decimal("120.0000"), "suspense:scripted-a": Decimal("-20.0000")}
    assert totals(engine) == {"USD": Decimal("0")}


def test_a_withdraw_pays_the_player_what_the_provider_released_and_needs_no_suspense(
        runtime, engine):
    # given a withdraw of 100 the provider recorded as 80 (nothing was held at registration)
    transfer_id = mismatched(runtime, "wd-less", "100.00", "80.00", direction="withdraw")

    # when an admin settles it at the provider's amount
    actions.resolve_by_hand(engine, transfer_id, "succeeded", actor="olga",
                            reason="provider released 80", at_provider_amount=True)

    # then the player gets 80, straight from settled
    assert entries(engine, transfer_id) == [
        ("payout", "settled:scripted-a", "player:player-7", Decimal("80.0000"))]
    assert balances(engine) == {"player:player-7": Decimal("80.0000"),
                                "settled:scripted-a": Decimal("-80.0000")}
    assert totals(engine) == {"USD": Decimal("0")}


def test_the_event_carries_both_amounts_and_the_audit_who_why_and_both(runtime, engine):
    # given a deposit of 100 the provider recorded as 90
    transfer_id = mismatched(runtime, "dep-event", "100.00", "90.00")

    # when an admin settles it at the provider's amount
    applied = actions.resolve_by_hand(engine, transfer_id, "succeeded", actor="olga",
                                      reason="statement shows 90", at_provider_amount=True)

    # then the event and the audit record hold both amounts, who and why
    final = [e for e in events(engine, transfer_id) if e.type == "transfer.manually_resolved"]
    data = final[0].payload["data"]
    assert (data["amount"], data["provider_amount"], data["outcome"], data["resolved_by"]) == (
        "100.0000", "90.0000", "succeeded", "admin:olga")
    assert problems(final[0].payload) == []  # the documented contract holds the new field
    with transaction(engine) as session:
        audit = session.execute(text("SELECT actor, reason, details FROM audit_records "
                                     "WHERE id = :id"), {"id": applied.audit_id}).one()
    assert (audit.actor, audit.reason) == ("olga", "statement shows 90")
    assert (audit.details["amount"], audit.details["provider_amount"]) == ("100.0000", "90.0000")


@pytest.mark.parametrize(("setup", "refusal"), [
    ("no_amount", "did not state an amount"),
    ("other_currency", "different currencies"),
    ("pending", "only a transfer in needs_review"),
])
def test_settling_at_the_provider_amount_is_refused_unless_it_is_an_amount_mismatch(
        runtime, engine, setup, refusal):
    # given a transfer that is not an amount mismatch in review
    if setup == "no_amount":
        transfer_id = in_review(runtime, tx_id="no-amount")
    elif setup == "other_currency":
        transfer_id = mismatched(runtime, "other-cur", "100.00", "90.00", currency="EUR")
    else:
        transfer_id = register(runtime, tx_id="still-pending")

    # when / then settling it at the provider's amount is refused
    with pytest.raises(actions.ActionRefused, match=refusal):
        actions.resolve_by_hand(engine, transfer_id, "succeeded", actor="olga", reason="x",
                                at_provider_amount=True)

    # then nothing beyond the hold was posted
    assert [kind for kind, *_ in entries(engine, transfer_id)] in ([], ["hold"])


def test_settling_at_the_provider_amount_as_failed_is_refused_naming_the_field(runtime, engine):
    # given an amount mismatch in review
    transfer_id = mismatched(runtime, "dep-failed", "100.00", "90.00")
    # when it is settled as failed at the provider's amount
    with pytest.raises(InvalidInput) as refusal:
        actions.resolve_by_hand(engine, transfer_id, "failed", actor="olga", reason="x",
                                at_provider_amount=True)
    # then the refusal names the field
    assert refusal.value.field == "at_provider_amount"


def test_the_database_refuses_an_adjustment_that_does_not_touch_a_suspense_account(runtime, engine):
    # given a registered transfer and two accounts, neither of them suspense
    transfer_id = register(runtime, tx_id="adj")
    # when / then an adjust entry between them is refused by the database
    with pytest.raises(DBAPIError, match="suspense account"), transaction(engine) as session:
        first, second = session.execute(
            text("SELECT id FROM ledger_accounts ORDER BY id LIMIT 2")).scalars()
        session.execute(text(
            "INSERT INTO ledger_entries (transfer_id, kind, from_account_id, to_account_id,"
            " amount, currency) VALUES (:t, 'adjust', :a, :b, 10, 'USD')"
        ), {"t": transfer_id, "a": second, "b": first})
