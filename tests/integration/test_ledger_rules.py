"""The money rules hold in the database itself, not only in our code."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError

from tests.integration.support import register
from worker.domain.types import State
from worker.engine.resolve import ledger
from worker.engine.resolve.resolution import NotResolvable, resolve
from worker.process.db import transaction

pytestmark = pytest.mark.integration


def post_by_hand(engine, transfer_id: int, kind: str, currency: str = "USD",
                 reverse: bool = False) -> None:
    """Insert an entry directly, past our code, between the first two accounts."""
    with transaction(engine) as session:
        first, second = session.execute(
            text("SELECT id FROM ledger_accounts ORDER BY id LIMIT 2")).scalars()
        source, target = (second, first) if reverse else (first, second)
        session.execute(text(
            "INSERT INTO ledger_entries (transfer_id, kind, from_account_id, to_account_id,"
            " amount, currency) VALUES (:t, :kind, :a, :b, 10, :currency)"
        ), {"t": transfer_id, "kind": kind, "a": source, "b": target, "currency": currency})


def resolved_deposit(runtime, engine, tx_id="tx-1", state=State.SUCCEEDED) -> int:
    transfer_id = register(runtime, tx_id=tx_id)
    with transaction(engine) as session:
        from models import Transfer

        transfer = session.get_one(Transfer, transfer_id)
        resolve(session, transfer, state, by="test", reason="test", now=datetime.now(UTC))
    return transfer_id


def test_a_second_resolution_posting_is_impossible(runtime, engine):
    # given
    transfer_id = resolved_deposit(runtime, engine)
    # when / then
    with pytest.raises(IntegrityError, match="uq_ledger_entries_one_resolution"):
        post_by_hand(engine, transfer_id, "refund", "USD", reverse=True)


def test_a_second_posting_of_the_same_kind_is_impossible(runtime, engine):
    # given
    transfer_id = register(runtime)
    # when / then
    with pytest.raises(IntegrityError, match="uq_ledger_entries_transfer_id_kind"):
        post_by_hand(engine, transfer_id, "hold", "USD", reverse=False)


def test_an_entry_cannot_cross_currencies(runtime, engine):
    # given
    transfer_id = register(runtime)
    # when / then
    with pytest.raises(IntegrityError, match="fk_ledger_entries"):
        post_by_hand(engine, transfer_id, "settle", "EUR", reverse=True)


@pytest.mark.parametrize("statement", [
    "UPDATE ledger_entries SET amount = 1",
    "DELETE FROM ledger_entries",
])
def test_entries_are_never_updated_or_deleted(runtime, engine, statement):
    # given
    register(runtime)
    # when / then
    with pytest.raises(DBAPIError, match="never updated or deleted"), \
            transaction(engine) as session:
        session.execute(text(statement))


def test_a_terminal_transfer_never_changes_again(runtime, engine):
    # given
    transfer_id = resolved_deposit(runtime, engine)
    # when / then the database refuses the change
    with pytest.raises(DBAPIError, match="never changes again"), transaction(engine) as session:
        session.execute(text("UPDATE transfers SET state = 'failed' WHERE id = :id"),
                        {"id": transfer_id})
    # when / then our code refuses it too
    with transaction(engine) as session:
        from models import Transfer

        transfer = session.get_one(Transfer, transfer_id)
        with pytest.raises(NotResolvable):
            resolve(session, transfer, State.FAILED, by="test", reason="again",
                    now=datetime.now(UTC))


def test_balances_sum_to_zero_per_currency(runtime, engine):
    # given
    resolved_deposit(runtime, engine, "a", State.SUCCEEDED)
    resolved_deposit(runtime, engine, "b", State.FAILED)
    register(runtime, tx_id="c", currency="EUR", amount="3.3333")
    # when
    with transaction(engine) as session:
        balances = {(code, currency): balance
                    for code, _kind, currency, balance in ledger.balances(session)}
        totals = ledger.currency_totals(session)
    # then
    assert balances[("settled:scripted-a", "USD")] == Decimal("10")
    assert balances[("transit:scripted-a", "USD")] == Decimal("0")
    assert balances[("player:player-7", "USD")] == Decimal("-10")
    assert balances[("transit:scripted-a", "EUR")] == Decimal("3.3333")
    assert totals == {"USD": Decimal(0), "EUR": Decimal(0)}
