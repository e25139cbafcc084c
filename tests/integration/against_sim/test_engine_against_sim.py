"""The engine against the simulator, all five provider kinds at once.

Given transfers at every kind whose provider will succeed after pending answers, fail, never
find them, or disagree on the amount, when the sweep, checks and relay run until nothing is
left to decide, then each transfer is in the right state with the right postings and events.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from tests.integration.against_sim.conftest import KINDS, sim_transaction
from tests.integration.support import entries, load, register
from worker.engine.check.batch import run_check
from worker.engine.relay import publish
from worker.engine.resolve import ledger
from worker.engine.sweep import due
from worker.process.db import transaction

pytestmark = pytest.mark.integration

# (history, our direction, simulator script, record override, final state)
STORIES = [
    ("ok", "deposit", [{"answer": "pending", "times": 2}, "succeeded"], None, "succeeded"),
    ("wd", "withdraw", ["pending", "succeeded"], None, "succeeded"),
    ("no", "deposit", ["failed"], None, "failed"),
    ("gone", "deposit", None, None, "failed"),
    ("mm", "deposit", ["succeeded"], {"amount": "99.00"}, "needs_review"),
]


def settle(runtime, deadline_s: float = 20) -> None:
    """Sweep and check in this process until no transfer is pending."""
    lease = timedelta(seconds=10)

    def check_now(claims: list[due.Claim]) -> None:
        for claim in claims:
            run_check(runtime.engine, runtime.providers, claim.transfer_id, claim.lease_token,
                      runtime.adapter_for, runtime.guard)

    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        due.sweep(runtime.engine, runtime.providers, datetime.now(UTC), lease, 100, check_now)
        with transaction(runtime.engine) as session:
            from sqlalchemy import text

            if not session.execute(text("SELECT count(*) FROM transfers "
                                        "WHERE state = 'pending'")).scalar_one():
                return
        time.sleep(0.05)


def test_every_kind_settles_against_the_simulator(runtime, engine, sim, redis_client):
    # given every story at every kind
    ids = {}
    for kind in KINDS:
        for history, direction, script, record, _ in STORIES:
            tx_id = f"{kind[:3]}-{history}"
            sim.load([sim_transaction(kind, tx_id, script, direction=direction,
                                      amount="12.50", record=record)])
            ids[(kind, history)] = register(runtime, provider=kind, tx_id=tx_id,
                                            direction=direction,
                                          amount="12.50", player_id="player-1")

    # when the sweep, checks and relay run until nothing is left to decide
    settle(runtime)
    publish.relay(engine, runtime.redis, runtime.settings.events_stream, 10_000, 1000)

    # then
    for (kind, history), transfer_id in ids.items():
        expected = next(final for name, *_, final in STORIES if name == history)
        transfer = load(engine, transfer_id)
        assert transfer.state == expected, (kind, history, transfer.last_outcome,
                                            transfer.last_error)

    amount = Decimal("12.50")
    for kind in KINDS:
        transit, settled, player = f"transit:{kind}", f"settled:{kind}", "player:player-1"
        assert entries(engine, ids[(kind, "ok")]) == [
            ("hold", player, transit, amount), ("settle", transit, settled, amount)]
        assert entries(engine, ids[(kind, "wd")]) == [("payout", settled, player, amount)]
        for failed in ("no", "gone"):
            assert entries(engine, ids[(kind, failed)]) == [
                ("hold", player, transit, amount), ("refund", transit, player, amount)]
        assert entries(engine, ids[(kind, "mm")]) == [("hold", player, transit, amount)]
        assert "amount" in load(engine, ids[(kind, "mm")]).review_reason

    with transaction(engine) as session:
        assert ledger.currency_totals(session) == {"USD": Decimal(0)}

    published = [json.loads(fields[b"event"])
                 for _, fields in redis_client.xrange(runtime.settings.events_stream)]
    assert sorted(int(event["subject"]) for event in published) == sorted(ids.values())
    assert {event["type"] for event in published} == {"transfer.resolved",
                                                       "transfer.needs_review"}
