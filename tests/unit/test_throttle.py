"""Rate limit and circuit breaker over Redis (fakeredis: the behaviour, without a server)."""

from __future__ import annotations

from datetime import timedelta

import fakeredis
import pytest

from tests.conftest import scripted_instance, unreachable_redis
from worker.domain.policy import Policy
from worker.engine.check.throttle import Admission, Throttle


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def guard(clock: Clock) -> Throttle:
    return Throttle(fakeredis.FakeRedis(), clock=clock)


INSTANCE = scripted_instance(policy=Policy(rate_limit_per_s=3, breaker_threshold=2,
                                           breaker_cooldown=timedelta(seconds=30)))


def admitted(guard: Throttle, wanted: int = 1) -> int:
    """How many of a batch of `wanted` the guard lets ask now."""
    admission = guard.admit(INSTANCE, wanted, 10)
    return admission.granted


def test_the_rate_limit_lets_through_so_many_per_second(guard, clock):
    # when five ask one at a time
    allowed = [admitted(guard) for _ in range(5)]
    # then
    assert allowed == [1, 1, 1, 0, 0]
    # when
    refused = guard.admit(INSTANCE, 1, 10)
    # then
    assert refused.refusal is not None and 0 < refused.refusal.wait_s <= 1
    assert refused.refusal.reason == "over the instance's rate limit"
    # given a second later
    clock.now += 1
    # when / then
    assert admitted(guard) == 1


def test_a_batch_gets_what_is_left_of_the_window(guard, clock):
    # when a batch of 5 asks at a rate of 3 a second
    admission = guard.admit(INSTANCE, 5, 10)
    # then 3 go and the rest wait the window
    assert admission.granted == 3
    assert admission.refusal is not None and 0 < admission.refusal.wait_s <= 1
    assert guard.admit(INSTANCE, 5, 10).granted == 0
    # given a second later
    clock.now += 1
    # when / then
    assert guard.admit(INSTANCE, 2, 10).granted == 2


def test_slow_rates_get_a_longer_window(clock):
    # given
    guard = Throttle(fakeredis.FakeRedis(), clock=clock)
    slow = scripted_instance(policy=Policy(rate_limit_per_s=0.5))
    # when / then
    assert guard.admit(slow, 1, 10).granted == 1
    assert guard.admit(slow, 1, 10).granted == 0


def test_the_breaker_opens_after_repeated_transport_errors_and_probes_later(guard, clock):
    # when one transport error
    guard.settle(INSTANCE, Admission(1), [True])
    # then
    assert admitted(guard) == 1  # one error is not a run
    # when a second in a row
    guard.settle(INSTANCE, Admission(1), [True])

    # then the breaker is open
    refused = guard.admit(INSTANCE, 1, 10)
    assert refused.granted == 0 and refused.refusal is not None
    assert refused.refusal.wait_s == pytest.approx(30)
    assert "circuit open" in (refused.refusal.reason or "")

    # when the cooldown passes
    clock.now += 31
    probe = guard.admit(INSTANCE, 3, 10)
    # then
    assert probe.granted == 1  # the probe, alone, however large the batch
    assert "half-open" in (probe.refusal.reason or "")
    assert admitted(guard) == 0  # others wait for the probe's answer

    # when the probe fails
    guard.settle(INSTANCE, probe, [True])  # the probe failed: open again
    # then
    assert admitted(guard) == 0
    # when the cooldown passes again
    clock.now += 31
    probe = guard.admit(INSTANCE, 1, 10)
    # then
    assert probe.granted == 1
    # when the probe works
    guard.settle(INSTANCE, probe, [False])  # the probe worked: closed
    clock.now += 1  # a fresh rate-limit window
    # then
    assert admitted(guard, 3) == 3


def test_a_batch_of_errors_counts_as_a_run(guard):
    # when a batch whose two calls both failed is settled, against a threshold of two
    guard.settle(INSTANCE, Admission(2), [True, True])
    # then the breaker is open
    assert admitted(guard) == 0


def test_a_good_answer_resets_the_run(guard):
    # given an error, an answer, an error
    guard.settle(INSTANCE, Admission(1), [True])
    guard.settle(INSTANCE, Admission(1), [False])
    guard.settle(INSTANCE, Admission(1), [True])
    # when / then
    assert admitted(guard) == 1


def test_only_errors_after_the_last_answer_of_a_batch_count(guard):
    # when calls end error, answer, error
    guard.settle(INSTANCE, Admission(3), [True, False, True])
    # then the run so far is the one error at the end
    assert admitted(guard) == 1
    # when one more error makes it two in a row
    guard.settle(INSTANCE, Admission(1), [True])
    # then the breaker is open
    assert admitted(guard) == 0


def test_without_redis_the_check_goes_through():
    # given
    guard = Throttle(unreachable_redis())
    # when / then
    assert guard.admit(INSTANCE, 2, 10).granted == 2
    # when / then
    guard.settle(INSTANCE, Admission(2), [True, True])  # does not raise
