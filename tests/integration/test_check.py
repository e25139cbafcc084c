"""One check: the answer is recorded, and applied only by the check that holds the lease."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from models import Check, OutboxEvent
from tests.integration.helpers import count, entries, events, load, make_due, register
from worker.check import LEASE_TOO_SHORT, Done, NoGuard, run_check
from worker.db import transaction
from worker.domain.types import Outcome
from worker.inflight import InFlight
from worker.providers.scripted import SCRIPTS
from worker.sweep import claim_due
from worker.throttle import SLOT_WAIT_S, Admission, Guard, Permission

pytestmark = pytest.mark.integration
LEASE = timedelta(seconds=30)


def claim(rt, engine):
    claims = claim_due(engine, rt.providers["scripted-a"], datetime.now(UTC), LEASE, limit=100)
    return {c.transfer_id: c.lease_token for c in claims}


def check(rt, engine, transfer_id, token, guard=None, at=None):
    return run_check(engine, rt.providers, transfer_id, token, rt.adapter_for, guard or NoGuard(),
                     clock=(lambda: at) if at else (lambda: datetime.now(UTC)),
                     jitter_draw=lambda: 0.0)


def checks_of(engine, transfer_id):
    with transaction(engine) as session:
        return list(session.execute(
            select(Check).where(Check.transfer_id == transfer_id).order_by(Check.id)
        ).scalars())


def test_a_success_resolves_with_ledger_and_event_in_one_go(rt, engine):
    transfer_id = register(rt)
    SCRIPTS.load("scripted-a", "tx-1", [Outcome.SUCCEEDED])
    token = claim(rt, engine)[transfer_id]

    assert check(rt, engine, transfer_id, token) is Done.RESOLVED
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


def test_running_the_same_check_twice_resolves_once(rt, engine):
    transfer_id = register(rt)
    SCRIPTS.load("scripted-a", "tx-1", [Outcome.FAILED])
    token = claim(rt, engine)[transfer_id]

    assert check(rt, engine, transfer_id, token) is Done.RESOLVED
    assert check(rt, engine, transfer_id, token) is Done.SKIPPED
    assert SCRIPTS.queries[("scripted-a", "tx-1")] == 1
    assert [kind for kind, *_ in entries(engine, transfer_id)] == ["hold", "refund"]
    assert count(engine, OutboxEvent) == 1


def test_pending_reschedules_by_the_schedule_and_releases_the_lease(rt, engine):
    transfer_id = register(rt)
    SCRIPTS.load("scripted-a", "tx-1", [Outcome.PENDING])
    token = claim(rt, engine)[transfer_id]
    now = datetime.now(UTC)

    assert check(rt, engine, transfer_id, token, at=now) is Done.RESCHEDULED
    transfer = load(engine, transfer_id)
    assert transfer.state == "pending"
    assert transfer.lease_token is None
    assert transfer.attempts == 1
    assert transfer.last_outcome == "PENDING"
    assert transfer.next_check_at == now + timedelta(milliseconds=100)


def test_a_check_with_a_stale_lease_asks_nothing(rt, engine):
    transfer_id = register(rt)
    claim(rt, engine)
    assert check(rt, engine, transfer_id, uuid.uuid4()) is Done.SKIPPED
    assert SCRIPTS.queries[("scripted-a", "tx-1")] == 0


def test_an_answer_that_arrives_after_the_lease_moved_on_is_recorded_not_applied(rt, engine):
    from worker.check import apply_result
    from worker.providers.base import CheckResult

    transfer_id = register(rt)
    first = claim(rt, engine)[transfer_id]
    # The first check is slow: its lease runs out and another sweep claims the transfer.
    later = claim_due(engine, rt.providers["scripted-a"], datetime.now(UTC) + LEASE, LEASE, 10)
    assert later and later[0].lease_token != first
    late = CheckResult(Outcome.SUCCEEDED, None, 200, 5, "GET /", "{}")
    done = apply_result(engine, rt.providers["scripted-a"], transfer_id, first, late,
                        datetime.now(UTC), lambda: 0.0)
    assert done is Done.LEASE_LOST
    assert load(engine, transfer_id).state == "pending"
    assert [row.applied for row in checks_of(engine, transfer_id)] == [False]


def test_a_mismatch_goes_to_review_with_the_reason(rt, engine):
    transfer_id = register(rt)
    SCRIPTS.load("scripted-a", "tx-1", [Outcome.MISMATCH])
    token = claim(rt, engine)[transfer_id]

    assert check(rt, engine, transfer_id, token) is Done.REVIEW
    transfer = load(engine, transfer_id)
    assert transfer.state == "needs_review"
    assert "disagrees" in transfer.review_reason
    assert [event.type for event in events(engine, transfer_id)] == ["transfer.needs_review"]
    assert [kind for kind, *_ in entries(engine, transfer_id)] == ["hold"]


def not_found_checks(rt, engine, transfer_id, offsets):
    sent_at = load(engine, transfer_id).sent_at
    done = []
    for offset in offsets:
        at = sent_at + timedelta(seconds=offset)
        token = claim_due(engine, rt.providers["scripted-a"], at, LEASE, 10)[0].lease_token
        done.append(check(rt, engine, transfer_id, token, at=at))
    return done


def test_not_found_inside_the_grace_period_never_fails(rt, engine):
    transfer_id = register(rt)  # no script: the scripted provider answers NOT_FOUND
    assert not_found_checks(rt, engine, transfer_id, [0.3, 0.6, 0.9]) == [Done.RESCHEDULED] * 3
    assert load(engine, transfer_id).not_found_streak == 3


def test_not_found_past_grace_still_needs_the_confirmations(rt, engine):
    transfer_id = register(rt)
    # Grace is 1 s and two answers are needed: one answer past grace is not enough.
    assert not_found_checks(rt, engine, transfer_id, [1.5, 2.5]) == [Done.RESCHEDULED,
                                                                     Done.RESOLVED]
    assert load(engine, transfer_id).state == "failed"
    assert [kind for kind, *_ in entries(engine, transfer_id)] == ["hold", "refund"]


def test_a_withdraw_that_succeeded_pays_the_player(rt, engine):
    transfer_id = register(rt, direction="withdraw", amount="7.25")
    SCRIPTS.load("scripted-a", "tx-1", [Outcome.SUCCEEDED])
    check(rt, engine, transfer_id, claim(rt, engine)[transfer_id])
    assert entries(engine, transfer_id) == [
        ("payout", "settled:scripted-a", "player:player-7", Decimal("7.2500"))
    ]


class Refusing(NoGuard):
    def admit(self, instance, wanted, hold_s):
        return Admission(0, (), Permission(False, 2.0, "over the instance's rate limit"))


def test_a_throttled_check_is_put_off_without_counting(rt, engine):
    transfer_id = register(rt)
    token = claim(rt, engine)[transfer_id]
    now = datetime.now(UTC)
    assert check(rt, engine, transfer_id, token, guard=Refusing(), at=now) is Done.DEFERRED
    transfer = load(engine, transfer_id)
    assert (transfer.attempts, transfer.lease_token) == (0, None)
    assert transfer.next_check_at == now + timedelta(seconds=2)
    assert transfer.last_error == "over the instance's rate limit"
    assert checks_of(engine, transfer_id) == []
    assert SCRIPTS.queries[("scripted-a", "tx-1")] == 0


def test_a_transfer_of_a_removed_instance_goes_to_review(rt, engine):
    transfer_id = register(rt)
    token = claim(rt, engine)[transfer_id]
    done = run_check(engine, {}, transfer_id, token, rt.adapter_for, NoGuard())
    assert done is Done.REVIEW
    assert "not configured" in load(engine, transfer_id).review_reason


def test_a_slow_wallet_clock_does_not_fail_a_transfer_the_provider_is_still_processing(rt, engine):
    # Given a transfer registered now with a sent_at 6 minutes old (the wallet's clock is behind),
    # at an instance with a 5 minute not-found grace, that the provider is still processing
    from dataclasses import replace

    slow_grace = replace(rt.providers["scripted-a"].policy, not_found_grace=timedelta(minutes=5))
    providers = {"scripted-a": replace(rt.providers["scripted-a"], policy=slow_grace)}
    sent_at = (datetime.now(UTC) - timedelta(minutes=6)).isoformat()
    transfer_id = register(rt, sent_at=sent_at)
    SCRIPTS.load("scripted-a", "tx-1", [Outcome.NOT_FOUND] * 3 + [Outcome.SUCCEEDED])

    # When it is checked four times within seconds
    for _ in range(4):
        make_due(engine, transfer_id)
        [(_, token)] = claim(rt, engine).items()
        run_check(engine, providers, transfer_id, token, rt.adapter_for, NoGuard(),
                  jitter_draw=lambda: 0.0)

    # Then the three not-found answers did not fail it, and the provider's success settled it
    transfer = load(engine, transfer_id)
    assert (transfer.state, transfer.attempts) == ("succeeded", 4)
    assert [kind for kind, *_ in entries(engine, transfer_id)] == ["hold", "settle"]


def test_a_check_finding_every_call_slot_taken_is_put_off_without_counting(rt, engine):
    # Given every call slot of the instance held by calls under way elsewhere
    instance = rt.providers["scripted-a"]
    for _ in range(instance.policy.concurrency):
        assert InFlight(rt.redis).take(instance, 30)
    transfer_id = register(rt)
    SCRIPTS.load("scripted-a", "tx-1", [Outcome.SUCCEEDED])
    token = claim(rt, engine)[transfer_id]
    now = datetime.now(UTC)

    # When the check runs
    done = check(rt, engine, transfer_id, token, guard=Guard(rt.redis), at=now)

    # Then it asked nothing and waits briefly for a slot, without counting an attempt
    assert done is Done.DEFERRED
    transfer = load(engine, transfer_id)
    assert (transfer.attempts, transfer.lease_token) == (0, None)
    assert transfer.next_check_at == now + timedelta(seconds=SLOT_WAIT_S)
    assert transfer.last_error == "all 16 call slots of the instance are in use"
    assert SCRIPTS.queries[("scripted-a", "tx-1")] == 0


class SlotWatcher:
    """Wraps the runtime's adapters to see how many call slots are taken while a call runs."""

    def __init__(self, rt) -> None:
        self.rt = rt
        self.seen: list[int] = []

    def __call__(self, instance):
        adapter = self.rt.adapter_for(instance)
        ask = adapter.check

        def check_and_look(transfer, deadline_s=None):
            self.seen.append(InFlight(self.rt.redis).count(instance))
            return ask(transfer, deadline_s)

        adapter.check = check_and_look
        return adapter


def test_the_call_holds_a_slot_and_gives_it_back(rt, engine):
    transfer_id = register(rt)
    SCRIPTS.load("scripted-a", "tx-1", [Outcome.PENDING])
    token = claim(rt, engine)[transfer_id]
    watcher = SlotWatcher(rt)

    done = run_check(engine, rt.providers, transfer_id, token, watcher, Guard(rt.redis))

    assert done is Done.RESCHEDULED
    assert watcher.seen == [1]
    assert InFlight(rt.redis).count(rt.providers["scripted-a"]) == 0


def test_a_check_with_too_little_lease_left_does_not_ask(rt, engine):
    # Given a transfer whose lease has under two seconds left (its message waited in the queue)
    transfer_id = register(rt)
    SCRIPTS.load("scripted-a", "tx-1", [Outcome.SUCCEEDED])
    now = datetime.now(UTC)
    [claimed] = claim_due(engine, rt.providers["scripted-a"], now, timedelta(seconds=1.5), 10)

    # When the check runs, then it leaves the transfer to a later check with a fresh lease
    done = check(rt, engine, transfer_id, claimed.lease_token, at=now)
    assert done is Done.DEFERRED
    assert load(engine, transfer_id).last_error == LEASE_TOO_SHORT.reason
    assert SCRIPTS.queries[("scripted-a", "tx-1")] == 0
