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
from tests.integration.helpers import entries, load, register
from worker import ledger, relay, sweep
from worker.check import run_check
from worker.db import transaction

pytestmark = pytest.mark.integration

# (story, our direction, simulator script, record override, final state)
STORIES = [
    ("ok", "deposit", [{"answer": "pending", "times": 2}, "succeeded"], None, "succeeded"),
    ("wd", "withdraw", ["pending", "succeeded"], None, "succeeded"),
    ("no", "deposit", ["failed"], None, "failed"),
    ("gone", "deposit", None, None, "failed"),
    ("mm", "deposit", ["succeeded"], {"amount": "99.00"}, "needs_review"),
]


def settle(rt, deadline_s: float = 20) -> None:
    """Sweep and check in this process until no transfer is pending."""
    lease = timedelta(seconds=10)

    def check_now(claims: list[sweep.Claim]) -> None:
        for claim in claims:
            run_check(rt.engine, rt.providers, claim.transfer_id, claim.lease_token,
                      rt.adapter_for, rt.guard)

    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        sweep.sweep(rt.engine, rt.providers, datetime.now(UTC), lease, 100, check_now)
        with transaction(rt.engine) as session:
            from sqlalchemy import text

            if not session.execute(text("SELECT count(*) FROM transfers "
                                        "WHERE state = 'pending'")).scalar_one():
                return
        time.sleep(0.05)


def test_every_kind_settles_against_the_simulator(rt, engine, sim, redis_client):
    ids = {}
    for kind in KINDS:
        for story, direction, script, record, _ in STORIES:
            tx_id = f"{kind[:3]}-{story}"
            sim.load([sim_transaction(kind, tx_id, script, direction=direction,
                                      amount="12.50", record=record)])
            ids[(kind, story)] = register(rt, provider=kind, tx_id=tx_id, direction=direction,
                                          amount="12.50", player_id="player-1")

    settle(rt)
    relay.relay(engine, rt.redis, rt.settings.events_stream, 10_000, 1000)

    for (kind, story), transfer_id in ids.items():
        expected = next(final for name, *_, final in STORIES if name == story)
        transfer = load(engine, transfer_id)
        assert transfer.state == expected, (kind, story, transfer.last_outcome,
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
                 for _, fields in redis_client.xrange(rt.settings.events_stream)]
    assert sorted(int(event["subject"]) for event in published) == sorted(ids.values())
    assert {event["type"] for event in published} == {"transfer.resolved",
                                                       "transfer.needs_review"}
