"""One check: the answer is recorded, and applied only by the check that holds the lease."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from models import Check, OutboxEvent
from tests.integration.support import count, entries, events, load, make_due, register
from worker.domain.types import Outcome
from worker.engine.check.batch import LEASE_TOO_SHORT, CheckEnd, NoGuard, run_check
from worker.engine.check.inflight import InFlight
from worker.engine.check.throttle import SLOT_WAIT_S, Admission, Permission, Throttle
from worker.engine.sweep.due import claim_due
from worker.process.db import transaction
from worker.providers.scripted import SCRIPTS

pytestmark = pytest.mark.integration
LEASE = timedelta(seconds=30)


def claim(runtime, engine):
    claims = claim_due(engine, runtime.providers["scripted-a"], datetime.now(UTC), LEASE, limit=100)
    return {c.transfer_id: c.lease_token for c in claims}


def check(runtime, engine, transfer_id, token, guard=None, at=None):
    return run_check(engine, runtime.providers, transfer_id, token, runtime.adapter_for,
                     guard or NoGuard(),
                     clock=(lambda: at) if at else (lambda: datetime.now(UTC)),
                     jitter_draw=lambda: 0.0)


def checks_of(engine, transfer_id):
    with transaction(engine) as session:
        return list(session.execute(
            select(Check).where(Check.transfer_id == transfer_id).order_by(Check.id)
        ).scalars())


def test_a_success_resolves_with_ledger_and_event_in_one_go(runtime, engine):
    # given
    transfer_id = register(runtime)
    SCRIPTS.load("scripted-a", "tx-1", [Outcome.SUCCEEDED])
    token = claim(runtime, engine)[transfer_id]

    # when / then
    assert check(runtime, engine, transfer_id, token) is CheckEnd.RESOLVED
    transfer = load(engine, transfer_id)
    assert (transfer.state, transfer.resolved_by, transfer.attempts) == ("succeeded", "engine", 1)
    assert transfer.lease_token is None
    assert [kind for kind, *_ in entries(engine, transfer_id)] == ["hold", "settle"]
    [event] = events(engine, transfer_id)
    assert event.type == "transfer.resolved"
    assert event.payload["data"]["amount"] == "10.0000"
    assert event.payload["data"]["outcome"] == "succeeded"
    [row] = checks_of(engine, transfer_id)
    assert (row.outcome, row.http_status, row.applied) == ("SUCCEEDED", 200, True)
    # The span of the provider call is kept, so overlapping checks of one transfer would show
    assert row.started_at is not None and row.started_at <= row.checked_at


def test_running_the_same_check_twice_resolves_once(runtime, engine):
    # given
    transfer_id = register(runtime)
    SCRIPTS.load("scripted-a", "tx-1", [Outcome.FAILED])
    token = claim(runtime, engine)[transfer_id]

    # when / then the first run resolves
    assert check(runtime, engine, transfer_id, token) is CheckEnd.RESOLVED
    # when / then the second run skips
    assert check(runtime, engine, transfer_id, token) is CheckEnd.SKIPPED
    # then the provider was asked once and the outcome applied once
    assert SCRIPTS.queries[("scripted-a", "tx-1")] == 1
    assert [kind for kind, *_ in entries(engine, transfer_id)] == ["hold", "refund"]
    assert count(engine, OutboxEvent) == 1


def test_pending_reschedules_by_the_schedule_and_releases_the_lease(runtime, engine):
    # given
    transfer_id = register(runtime)
    SCRIPTS.load("scripted-a", "tx-1", [Outcome.PENDING])
    token = claim(runtime, engine)[transfer_id]
    now = datetime.now(UTC)

    # when / then
    assert check(runtime, engine, transfer_id, token, at=now) is CheckEnd.RESCHEDULED
    transfer = load(engine, transfer_id)
    assert transfer.state == "pending"
    assert transfer.lease_token is None
    assert transfer.attempts == 1
    assert transfer.last_outcome == "PENDING"
    assert transfer.next_check_at == now + timedelta(milliseconds=100)


def test_a_check_with_a_stale_lease_asks_nothing(runtime, engine):
    # given
    transfer_id = register(runtime)
    claim(runtime, engine)

    # when / then
    assert check(runtime, engine, transfer_id, uuid.uuid4()) is CheckEnd.SKIPPED
    assert SCRIPTS.queries[("scripted-a", "tx-1")] == 0


def test_an_answer_that_arrives_after_the_lease_moved_on_is_recorded_not_applied(runtime, engine):
    from worker.engine.check.batch import apply_result
    from worker.providers.base import CheckResult

    # given
    transfer_id = register(runtime)
    first = claim(runtime, engine)[transfer_id]
    # The first check is slow: its lease runs out and another sweep claims the transfer.
    later = claim_due(engine, runtime.providers["scripted-a"], datetime.now(UTC) + LEASE, LEASE, 10)
    assert later and later[0].lease_token != first
    late = CheckResult(Outcome.SUCCEEDED, None, 200, 5, "GET /", "{}")

    # when the first check's answer arrives late
    done = apply_result(engine, runtime.providers["scripted-a"], transfer_id, first, late,
                        datetime.now(UTC), lambda: 0.0)
    # then
    assert done is CheckEnd.LEASE_LOST
    assert load(engine, transfer_id).state == "pending"
    assert [row.applied for row in checks_of(engine, transfer_id)] == [False]


def test_a_mismatch_goes_to_review_with_the_reason(runtime, engine):
    # given
    transfer_id = register(runtime)
    SCRIPTS.load("scripted-a", "tx-1", [Outcome.MISMATCH])
    token = claim(runtime, engine)[transfer_id]

    # when / then
    assert check(runtime, engine, transfer_id, token) is CheckEnd.REVIEW
    transfer = load(engine, transfer_id)
    assert transfer.state == "needs_review"
    assert "disagrees" in transfer.review_reason
    assert [event.type for event in events(engine, transfer_id)] == ["transfer.needs_review"]
    assert [kind for kind, *_ in entries(engine, transfer_id)] == ["hold"]


def not_found_checks(runtime, engine, transfer_id, offsets):
    sent_at = load(engine, transfer_id).sent_at
    done = []
    for offset in offsets:
        at = sent_at + timedelta(seconds=offset)
        token = claim_due(engine, runtime.providers["scripted-a"], at, LEASE, 10)[0].lease_token
        done.append(check(runtime, engine, transfer_id, token, at=at))
    return done


def test_not_found_inside_the_grace_period_never_fails(runtime, engine):
    # given
    transfer_id = register(runtime)  # no script: the scripted provider answers NOT_FOUND

    # when / then
    assert not_found_checks(runtime, engine, transfer_id, [0.3, 0.6,
                                                           0.9]) == [CheckEnd.RESCHEDULED] * 3
    assert load(engine, transfer_id).not_found_streak == 3


def test_not_found_past_grace_still_needs_the_confirmations(runtime, engine):
    # given
    transfer_id = register(runtime)
    # Grace is 1 s and two answers are needed: one answer past grace is not enough.

    # when / then
    assert not_found_checks(runtime, engine, transfer_id, [1.5, 2.5]) == [CheckEnd.RESCHEDULED,
                                                                          CheckEnd.RESOLVED]
    assert load(engine, transfer_id).state == "failed"
    assert [kind for kind, *_ in entries(engine, transfer_id)] == ["hold", "refund"]


def test_a_withdraw_that_succeeded_pays_the_player(runtime, engine):
    # given
    transfer_id = register(runtime, direction="withdraw", amount="7.25")
    SCRIPTS.load("scripted-a", "tx-1", [Outcome.SUCCEEDED])

    # when
    check(runtime, engine, transfer_id, claim(runtime, engine)[transfer_id])

    # then
    assert entries(engine, transfer_id) == [
        ("payout", "settled:scripted-a", "player:player-7", Decimal("7.2500"))
    ]


class Refusing(NoGuard):
    def admit(self, instance, wanted, hold_s):
        return Admission(0, (), Permission(False, 2.0, "over the instance's rate limit"))


def test_a_throttled_check_is_put_off_without_counting(runtime, engine):
    # given
    transfer_id = register(runtime)
    token = claim(runtime, engine)[transfer_id]
    now = datetime.now(UTC)

    # when / then
    assert check(runtime, engine, transfer_id, token, guard=Refusing(), at=now) is CheckEnd.DEFERRED
    transfer = load(engine, transfer_id)
    assert (transfer.attempts, transfer.lease_token) == (0, None)
    assert transfer.next_check_at == now + timedelta(seconds=2)
    assert transfer.last_error == "over the instance's rate limit"
    assert checks_of(engine, transfer_id) == []
    assert SCRIPTS.queries[("scripted-a", "tx-1")] == 0


def test_a_transfer_of_a_removed_instance_goes_to_review(runtime, engine):
    # given
    transfer_id = register(runtime)
    token = claim(runtime, engine)[transfer_id]

    # when
    done = run_check(engine, {}, transfer_id, token, runtime.adapter_for, NoGuard())

    # then
    assert done is CheckEnd.REVIEW
    assert "not configured" in load(engine, transfer_id).review_reason


def test_a_slow_wallet_clock_does_not_fail_a_transfer_the_provider_is_still_processing(runtime,
                                                                                       engine):
    # given a transfer registered now with a sent_at 6 minutes old (the wallet's clock is behind),
    # at an instance with a 5 minute not-found grace, that the provider is still processing
    from dataclasses import replace

    slow_grace = replace(runtime.providers["scripted-a"].policy,
                         not_found_grace=timedelta(minutes=5))
    providers = {"scripted-a": replace(runtime.providers["scripted-a"], policy=slow_grace)}
    sent_at = (datetime.now(UTC) - timedelta(minutes=6)).isoformat()
    transfer_id = register(runtime, sent_at=sent_at)
    SCRIPTS.load("scripted-a", "tx-1", [Outcome.NOT_FOUND] * 3 + [Outcome.SUCCEEDED])

    # when it is checked four times within seconds
    for _ in range(4):
        make_due(engine, transfer_id)
        [(_, token)] = claim(runtime, engine).items()
        run_check(engine, providers, transfer_id, token, runtime.adapter_for, NoGuard(),
                  jitter_draw=lambda: 0.0)

    # then the three not-found answers did not fail it, and the provider's success settled it
    transfer = load(engine, transfer_id)
    assert (transfer.state, transfer.attempts) == ("succeeded", 4)
    assert [kind for kind, *_ in entries(engine, transfer_id)] == ["hold", "settle"]


def test_a_check_finding_every_call_slot_taken_is_put_off_without_counting(runtime, engine):
    # given every call slot of the instance held by calls under way elsewhere
    instance = runtime.providers["scripted-a"]
    for _ in range(instance.policy.concurrency):
        assert InFlight(runtime.redis).take(instance, 30)
    transfer_id = register(runtime)
    SCRIPTS.load("scripted-a", "tx-1", [Outcome.SUCCEEDED])
    token = claim(runtime, engine)[transfer_id]
    now = datetime.now(UTC)

    # when the check runs
    done = check(runtime, engine, transfer_id, token, guard=Throttle(runtime.redis), at=now)

    # then it asked nothing and waits briefly for a slot, without counting an attempt
    assert done is CheckEnd.DEFERRED
    transfer = load(engine, transfer_id)
    assert (transfer.attempts, transfer.lease_token) == (0, None)
    assert transfer.next_check_at == now + timedelta(seconds=SLOT_WAIT_S)
    assert transfer.last_error == "all 16 call slots of the instance are in use"
    assert SCRIPTS.queries[("scripted-a", "tx-1")] == 0


class SlotWatcher:
    """Wraps the runtime's adapters to see how many call slots are taken while a call runs."""

    def __init__(self, runtime) -> None:
        self.runtime = runtime
        self.seen: list[int] = []

    def __call__(self, instance):
        adapter = self.runtime.adapter_for(instance)
        ask = adapter.check

        def check_and_look(transfer, deadline_s=None):
            self.seen.append(InFlight(self.runtime.redis).count(instance))
            return ask(transfer, deadline_s)

        adapter.check = check_and_look
        return adapter


def test_the_call_holds_a_slot_and_gives_it_back(runtime, engine):
    # given
    transfer_id = register(runtime)
    SCRIPTS.load("scripted-a", "tx-1", [Outcome.PENDING])
    token = claim(runtime, engine)[transfer_id]
    watcher = SlotWatcher(runtime)

    # when
    done = run_check(engine, runtime.providers, transfer_id, token, watcher,
                     Throttle(runtime.redis))

    # then
    assert done is CheckEnd.RESCHEDULED
    assert watcher.seen == [1]
    assert InFlight(runtime.redis).count(runtime.providers["scripted-a"]) == 0


def test_a_check_with_too_little_lease_left_does_not_ask(runtime, engine):
    # given a transfer whose lease has under two seconds left (its message waited in the queue)
    transfer_id = register(runtime)
    SCRIPTS.load("scripted-a", "tx-1", [Outcome.SUCCEEDED])
    now = datetime.now(UTC)
    [claimed] = claim_due(engine, runtime.providers["scripted-a"], now, timedelta(seconds=1.5), 10)

    # when the check runs
    done = check(runtime, engine, transfer_id, claimed.lease_token, at=now)
    # then it leaves the transfer to a later check with a fresh lease
    assert done is CheckEnd.DEFERRED
    assert load(engine, transfer_id).last_error == LEASE_TOO_SHORT.reason
    assert SCRIPTS.queries[("scripted-a", "tx-1")] == 0
