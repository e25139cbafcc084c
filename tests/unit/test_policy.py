"""The polling policy as pure functions: outcome + transfer + now -> decision."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from worker.domain.policy import Action, Decision, Policy, PollState, decide, first_check_at
from worker.domain.types import Outcome, State

SENT = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
POLICY = Policy(
    initial_delay=timedelta(seconds=10),
    schedule=(timedelta(seconds=10), timedelta(seconds=30), timedelta(minutes=1)),
    max_age=timedelta(hours=1),
    not_found_grace=timedelta(minutes=5),
    not_found_confirmations=2,
    jitter=0.1,
    rate_limited_delay=timedelta(seconds=5),
)


def no_jitter() -> float:
    return 0.0


def after(poll: PollState, outcome: Outcome, minutes: float = 1, draw=no_jitter) -> Decision:
    return decide(outcome, poll, POLICY, SENT + timedelta(minutes=minutes), draw)


def fresh(attempts: int = 0, streak: int = 0) -> PollState:
    return PollState(sent_at=SENT, attempts=attempts, not_found_streak=streak)


def test_first_check_waits_the_initial_delay():
    # given
    now = SENT + timedelta(seconds=3)
    # when / then
    assert first_check_at(now, POLICY) == now + timedelta(seconds=10)


@pytest.mark.parametrize(("outcome", "state"), [
    (Outcome.SUCCEEDED, State.SUCCEEDED),
    (Outcome.FAILED, State.FAILED),
])
def test_a_final_answer_resolves(outcome, state):
    # when
    decision = after(fresh(attempts=3, streak=1), outcome)
    # then
    assert decision.action is Action.RESOLVE
    assert decision.resolution is state
    assert decision.attempts == 4
    assert decision.not_found_streak == 0


@pytest.mark.parametrize("outcome", [Outcome.MISMATCH, Outcome.AUTH_ERROR])
def test_mismatch_and_auth_errors_go_to_review(outcome):
    # when
    decision = after(fresh(), outcome)
    # then
    assert decision.action is Action.REVIEW
    assert decision.reason


def test_pending_follows_the_escalating_schedule():
    # given
    now = SENT + timedelta(minutes=1)
    # when
    delays = [
        decide(Outcome.PENDING, fresh(attempts=n), POLICY, now, no_jitter).next_check_at - now
        for n in range(5)
    ]
    # then
    assert delays == [timedelta(seconds=10), timedelta(seconds=30), timedelta(minutes=1),
                      timedelta(minutes=1), timedelta(minutes=1)]


def test_jitter_only_ever_adds_up_to_its_fraction():
    # given
    now = SENT + timedelta(minutes=1)
    # when
    latest = decide(Outcome.RETRY, fresh(), POLICY, now, lambda: 1.0).next_check_at
    earliest = decide(Outcome.RETRY, fresh(), POLICY, now, lambda: 0.0).next_check_at
    # then
    assert earliest == now + timedelta(seconds=10)
    assert latest == now + timedelta(seconds=11)


def test_rate_limited_waits_its_own_delay_and_is_not_an_attempt():
    # when
    decision = after(fresh(attempts=4, streak=1), Outcome.RATE_LIMITED)
    # then
    assert decision.action is Action.RECHECK
    assert decision.attempts == 4
    assert decision.not_found_streak == 1
    assert decision.next_check_at == SENT + timedelta(minutes=1, seconds=5)


def test_not_found_inside_the_grace_period_checks_again():
    # when
    decision = after(fresh(streak=5), Outcome.NOT_FOUND, minutes=4)
    # then
    assert decision.action is Action.RECHECK
    assert decision.not_found_streak == 6


def test_not_found_before_grace_ends_is_confirmed_when_grace_ends_not_a_long_step_later():
    # given
    policy = Policy(schedule=(timedelta(minutes=30),), not_found_grace=timedelta(minutes=5),
                    jitter=0)
    # when
    decision = decide(Outcome.NOT_FOUND, fresh(), policy, SENT + timedelta(minutes=1), no_jitter)
    # then
    assert decision.next_check_at == SENT + timedelta(minutes=5)


def test_not_found_past_grace_needs_the_confirmations():
    # when the first not-found past grace
    first = after(fresh(), Outcome.NOT_FOUND, minutes=6)
    # then
    assert first.action is Action.RECHECK
    # when the second
    second = after(fresh(attempts=1, streak=first.not_found_streak), Outcome.NOT_FOUND, minutes=7)
    # then
    assert second.action is Action.RESOLVE
    assert second.resolution is State.FAILED


def test_a_wallet_clock_behind_ours_does_not_shorten_the_grace():
    # given a transfer whose sent_at is 6 minutes behind our registration (the wallet's clock
    # is slow) and which the provider is still processing (not found twice so far)
    registered = SENT + timedelta(minutes=6)
    poll = PollState(sent_at=SENT, attempts=2, not_found_streak=2, registered_at=registered)
    # when it is still not found 13 s after we registered it
    decision = decide(Outcome.NOT_FOUND, poll, POLICY, registered + timedelta(seconds=13),
                      no_jitter)
    # then it is not failed: the grace runs from our registration, and is confirmed when it ends
    assert decision.action is Action.RECHECK
    assert decision.next_check_at <= registered + POLICY.not_found_grace
    # when the grace has passed from our registration
    late = decide(Outcome.NOT_FOUND, poll, POLICY, registered + timedelta(minutes=5), no_jitter)
    # then the confirmations fail it
    assert late.action is Action.RESOLVE and late.resolution is State.FAILED


def test_a_wallet_clock_ahead_of_ours_keeps_the_grace_from_sent_at():
    # given sent_at 2 minutes after our registration (the wallet's clock is fast)
    poll = PollState(sent_at=SENT, attempts=2, not_found_streak=2,
                     registered_at=SENT - timedelta(minutes=2))
    # when / then not found 4 minutes after sent_at, the grace (from sent_at) still holds
    assert after(poll, Outcome.NOT_FOUND, minutes=4).action is Action.RECHECK


def test_a_pending_answer_breaks_the_not_found_streak():
    # when pending answers after one not-found
    decision = after(fresh(streak=1), Outcome.PENDING, minutes=6)
    # then
    assert decision.not_found_streak == 0
    # when a not-found comes next
    then = after(fresh(streak=decision.not_found_streak), Outcome.NOT_FOUND, minutes=7)
    # then
    assert then.action is Action.RECHECK


@pytest.mark.parametrize("silent", [Outcome.RETRY, Outcome.RATE_LIMITED])
def test_answers_that_say_nothing_about_the_transfer_keep_the_streak(silent):
    # when
    decision = after(fresh(streak=1), silent, minutes=6)
    # then
    assert decision.not_found_streak == 1
    assert decision.action is Action.RECHECK


def test_no_final_answer_within_max_age_goes_to_review():
    # when
    for outcome in (Outcome.PENDING, Outcome.RETRY, Outcome.RATE_LIMITED, Outcome.NOT_FOUND):
        decision = after(fresh(attempts=40), outcome, minutes=60)
        # then
        assert decision.action is Action.REVIEW, outcome
        assert "max age" in (decision.reason or "")


def test_a_final_answer_still_resolves_after_max_age():
    # when
    decision = after(fresh(attempts=40), Outcome.SUCCEEDED, minutes=120)
    # then
    assert decision.action is Action.RESOLVE


def test_the_last_check_falls_on_max_age():
    # when
    decision = after(fresh(attempts=9), Outcome.PENDING, minutes=59.5)
    # then
    assert decision.next_check_at == SENT + timedelta(hours=1)


@pytest.mark.parametrize("bad", [
    {"schedule": ()},
    {"not_found_confirmations": 0},
    {"concurrency": 0},
    {"rate_limit_per_s": 0},
    {"jitter": 2},
])
def test_a_policy_refuses_impossible_settings(bad):
    # when / then
    with pytest.raises(ValueError):
        Policy(**bad)
