"""The drill's verifier reads the real schema: a settled database written by the engine's own
code passes, and rows changed behind the engine's back are caught."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import text

from models import Transfer
from resolver_tools.chaos import verify
from resolver_tools.chaos.intake import Acknowledged
from resolver_tools.chaos.scenario import Planned
from resolver_tools.demo.scenario import DemoInstance, DemoTransfer
from tests.integration.support import register
from worker.domain.types import State
from worker.engine.resolve.resolution import resolve
from worker.process.db import transaction

pytestmark = pytest.mark.integration

SCRIPTED = DemoInstance("scripted-a", "scripted", {}, {}, "USD")


def settled_pair(runtime, engine) -> tuple[list[Planned], dict]:
    """A deposit that succeeded and a withdrawal that failed, each with a check on record."""
    planned, acked = [], {}
    for tx_id, direction, state in (("d-1", "deposit", State.SUCCEEDED),
                                    ("w-1", "withdraw", State.FAILED)):
        transfer_id = register(runtime, tx_id=tx_id, direction=direction)
        now = datetime.now(UTC)
        with transaction(engine) as session:
            session.execute(text(
                "INSERT INTO checks (transfer_id, started_at, checked_at, outcome, latency_ms,"
                " request, response_excerpt, applied) VALUES (:t, :s, :e, :o, 5, '', '', true)"
            ), {"t": transfer_id, "s": now - timedelta(seconds=1), "e": now,
                "o": state.value.upper()})
            resolve(session, session.get_one(Transfer, transfer_id), state, by="engine",
                    reason="test", now=now)
        planned.append(Planned(DemoTransfer(SCRIPTED, tx_id, direction, Decimal("10.00"),
                                            "player-7", None, "", None), state))
        acked[("scripted-a", tx_id)] = Acknowledged(transfer_id, "pending", True, 1)
    with transaction(engine) as session:
        session.execute(text("UPDATE outbox_events SET published_at = now()"))
    return planned, acked


def test_a_settled_database_written_by_the_engine_keeps_every_invariant(runtime, engine):
    # given a settled deposit and a failed withdrawal
    planned, acked = settled_pair(runtime, engine)

    # when
    found = verify.verify(engine, planned, acked, {})

    # then
    assert found == {name: [] for name in verify.INVARIANTS}


def test_rows_changed_behind_the_engines_back_break_the_invariants(runtime, engine):
    # given rows changed behind the engine's back
    planned, acked = settled_pair(runtime, engine)
    deposit = acked[("scripted-a", "d-1")].transfer_id
    withdrawal = acked[("scripted-a", "w-1")].transfer_id
    with transaction(engine) as session:
        # An unpublished event, a posting the rules do not call for (a hold on a withdrawal,
        # which the database's own constraints allow), an overlapping check.
        session.execute(text("UPDATE outbox_events SET published_at = NULL "
                             "WHERE transfer_id = :t"), {"t": deposit})
        session.execute(text(
            "INSERT INTO ledger_entries (transfer_id, kind, from_account_id, to_account_id,"
            " amount, currency) SELECT :w, 'hold', from_account_id, to_account_id, amount,"
            " currency FROM ledger_entries WHERE transfer_id = :t AND kind = 'hold'"
        ), {"t": deposit, "w": withdrawal})
        session.execute(text(
            "INSERT INTO checks (transfer_id, started_at, checked_at, outcome, latency_ms,"
            " request, response_excerpt, applied) SELECT transfer_id, started_at + interval"
            " '100 ms', checked_at, 'PENDING', 5, '', '', false FROM checks WHERE transfer_id = :t"
        ), {"t": deposit})

    # when
    found = verify.verify(engine, planned, acked, {})

    # then
    broken = {name for name, violations in found.items() if violations}
    assert broken == {verify.SETTLED, verify.LEDGER, verify.OUTBOX, verify.OVERLAP}
    assert [v.subject for v in found[verify.LEDGER]] == ["scripted-a:w-1"]
