"""Checks in batches: one claim's transfers asked together and applied in one transaction."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import text

from tests.integration.support import entries, events, load, register
from worker.domain.types import Outcome
from worker.engine.check.batch import CheckEnd, NoGuard, run_batch
from worker.engine.check.throttle import Admission, Permission
from worker.engine.resolve import ledger
from worker.engine.sweep.due import Claim, claim_due
from worker.process.db import transaction
from worker.providers.scripted import SCRIPTS

pytestmark = pytest.mark.integration
LEASE = timedelta(seconds=30)


def claim_all(runtime, engine) -> list[Claim]:
    return claim_due(engine, runtime.providers["scripted-a"], datetime.now(UTC), LEASE, limit=100)


def run(runtime, engine, claims, guard=None, calls=None, now=None):
    return run_batch(engine, runtime.providers, claims, runtime.adapter_for, guard or NoGuard(),
                     clock=(lambda: now) if now else (lambda: datetime.now(UTC)),
                     jitter_draw=lambda: 0.0, calls=calls)


def test_every_answer_of_a_batch_is_applied_with_its_postings_and_event(runtime, engine):
    # given five transfers of one instance whose provider answers five different things
    answers = {"tx-ok": Outcome.SUCCEEDED, "tx-no": Outcome.FAILED, "tx-wait": Outcome.PENDING,
               "tx-odd": Outcome.MISMATCH, "tx-pay": Outcome.SUCCEEDED}
    ids = {}
    for tx_id, outcome in answers.items():
        direction = "withdraw" if tx_id == "tx-pay" else "deposit"
        ids[tx_id] = register(runtime, tx_id=tx_id, direction=direction, player_id=f"p-{tx_id}")
        SCRIPTS.load("scripted-a", tx_id, [outcome])
    claims = claim_all(runtime, engine)
    assert len(claims) == 5 and len({c.lease_token for c in claims}) == 1

    # when they are checked as one batch
    done = run(runtime, engine, claims)

    # then each transfer got what its answer means, in one go
    assert done == {ids["tx-ok"]: CheckEnd.RESOLVED, ids["tx-no"]: CheckEnd.RESOLVED,
                    ids["tx-wait"]: CheckEnd.RESCHEDULED, ids["tx-odd"]: CheckEnd.REVIEW,
                    ids["tx-pay"]: CheckEnd.RESOLVED}
    states = {tx_id: load(engine, i).state for tx_id, i in ids.items()}
    assert states == {"tx-ok": "succeeded", "tx-no": "failed", "tx-wait": "pending",
                      "tx-odd": "needs_review", "tx-pay": "succeeded"}
    assert [k for k, *_ in entries(engine, ids["tx-ok"])] == ["hold", "settle"]
    assert [k for k, *_ in entries(engine, ids["tx-no"])] == ["hold", "refund"]
    # a withdraw's payout opens the player's account on first use
    assert entries(engine, ids["tx-pay"]) == [
        ("payout", "settled:scripted-a", "player:p-tx-pay", Decimal("10.0000"))]
    # nothing moves yet for the one still pending and the one in review: only their holds
    assert [k for k, *_ in entries(engine, ids["tx-wait"])] == ["hold"]
    assert [k for k, *_ in entries(engine, ids["tx-odd"])] == ["hold"]
    assert [e.type for e in events(engine, ids["tx-ok"])] == ["transfer.resolved"]
    assert [e.type for e in events(engine, ids["tx-odd"])] == ["transfer.needs_review"]
    assert events(engine, ids["tx-wait"]) == []
    resolved = events(engine, ids["tx-pay"])[0].payload["data"]
    assert (resolved["outcome"], resolved["resolved_by"], resolved["attempts"],
            resolved["amount"]) == ("succeeded", "engine", 1, "10.0000")
    review = load(engine, ids["tx-odd"])
    assert "disagrees" in review.review_reason and review.lease_token is None
    with transaction(engine) as session:
        assert set(ledger.currency_totals(session).values()) == {Decimal(0)}


def test_an_answer_for_a_transfer_whose_lease_moved_on_is_recorded_not_applied(runtime, engine):
    # given a batch of two, one of which a later sweep claimed again once the lease ran out
    first_id = register(runtime, tx_id="tx-1")
    second_id = register(runtime, tx_id="tx-2")
    for tx_id in ("tx-1", "tx-2"):
        SCRIPTS.load("scripted-a", tx_id, [Outcome.SUCCEEDED])
    claims = claim_all(runtime, engine)
    with engine.begin() as connection:
        connection.execute(text("UPDATE transfers SET lease_token = gen_random_uuid() "
                                "WHERE id = :id"), {"id": second_id})

    # when the batch runs
    done = run(runtime, engine, claims)

    # then the first is resolved, the second's answer kept as a check that was not applied
    assert done == {first_id: CheckEnd.RESOLVED, second_id: CheckEnd.LEASE_LOST}
    assert load(engine, second_id).state == "pending"
    assert events(engine, second_id) == []
    with engine.begin() as connection:
        applied = connection.execute(text(
            "SELECT transfer_id, applied FROM checks ORDER BY transfer_id")).all()
    assert [tuple(row) for row in applied] == [(first_id, True), (second_id, False)]


def test_running_a_batch_twice_resolves_each_transfer_once(runtime, engine):
    # given
    ids = [register(runtime, tx_id=f"tx-{n}") for n in range(3)]
    for n in range(3):
        SCRIPTS.load("scripted-a", f"tx-{n}", [Outcome.SUCCEEDED])
    claims = claim_all(runtime, engine)

    # when the same claims are run twice
    first = run(runtime, engine, claims)
    again = run(runtime, engine, claims)  # the same message, delivered twice

    # then
    assert set(first.values()) == {CheckEnd.RESOLVED}
    assert set(again.values()) == {CheckEnd.LEASE_LOST}
    for transfer_id in ids:
        assert [k for k, *_ in entries(engine, transfer_id)] == ["hold", "settle"]
        assert len(events(engine, transfer_id)) == 1


class AdmitsTwo(NoGuard):
    def admit(self, instance, wanted, hold_s):
        return Admission(2, (), Permission(False, 3.0, "over the instance's rate limit"))


def test_checks_a_batch_was_not_admitted_for_are_put_off_without_counting(runtime, engine):
    # given four due transfers and a guard that lets two of them ask now
    for n in range(4):
        register(runtime, tx_id=f"tx-{n}")
        SCRIPTS.load("scripted-a", f"tx-{n}", [Outcome.PENDING])
    claims = claim_all(runtime, engine)
    now = datetime.now(UTC)

    # when the batch runs
    done = run(runtime, engine, claims, guard=AdmitsTwo(), now=now)

    # then two asked and two wait out the refusal, with nothing counted and nothing asked
    assert sorted(done.values()) == sorted([CheckEnd.RESCHEDULED] * 2 + [CheckEnd.DEFERRED] * 2)
    waited = [load(engine, i) for i, d in done.items() if d is CheckEnd.DEFERRED]
    assert all(t.attempts == 0 and t.lease_token is None for t in waited)
    assert all(t.next_check_at == now + timedelta(seconds=3) for t in waited)
    assert all(t.last_error == "over the instance's rate limit" for t in waited)
    assert sum(SCRIPTS.queries[("scripted-a", f"tx-{n}")] for n in range(4)) == 2


def test_a_batch_asks_its_provider_concurrently(runtime, engine):
    # given four transfers and calls that can only finish when all four are under way at once
    for n in range(4):
        register(runtime, tx_id=f"tx-{n}")
        SCRIPTS.load("scripted-a", f"tx-{n}", [Outcome.SUCCEEDED])
    together = threading.Barrier(4, timeout=10)

    def adapter_for(instance):
        adapter = runtime.adapter_for(instance)
        ask = adapter.check

        def check_together(transfer, deadline_s=None):
            together.wait()
            return ask(transfer, deadline_s)

        adapter.check = check_together
        return adapter

    # when the batch runs on a pool of four threads
    with ThreadPoolExecutor(4) as calls:
        done = run_batch(engine, runtime.providers, claim_all(runtime, engine), adapter_for,
                         NoGuard(),
                         calls=calls)

    # then every call met the others (a serial batch would break the barrier) and resolved
    assert set(done.values()) == {CheckEnd.RESOLVED}


def test_a_claim_travels_in_a_check_message_unchanged(runtime, engine):
    # given
    register(runtime, tx_id="tx-1", player_ref="ref-1", amount="12.3456")
    [claim] = claim_all(runtime, engine)

    # when / then
    assert Claim.from_message(claim.provider, claim.lease_token, claim.to_message()) == claim
