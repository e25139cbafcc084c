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
    allowed = [admitted(guard) for _ in range(5)]
    assert allowed == [1, 1, 1, 0, 0]
    refused = guard.admit(INSTANCE, 1, 10)
    assert refused.refusal is not None and 0 < refused.refusal.wait_s <= 1
    assert refused.refusal.reason == "over the instance's rate limit"
    clock.now += 1
    assert admitted(guard) == 1


def test_a_batch_gets_what_is_left_of_the_window(guard, clock):
    # Given a rate of 3 a second, when a batch of 5 asks, then 3 go and the rest wait the window
    admission = guard.admit(INSTANCE, 5, 10)
    assert admission.granted == 3
    assert admission.refusal is not None and 0 < admission.refusal.wait_s <= 1
    assert guard.admit(INSTANCE, 5, 10).granted == 0
    clock.now += 1
    assert guard.admit(INSTANCE, 2, 10).granted == 2


def test_slow_rates_get_a_longer_window(clock):
    guard = Throttle(fakeredis.FakeRedis(), clock=clock)
    slow = scripted_instance(policy=Policy(rate_limit_per_s=0.5))
    assert guard.admit(slow, 1, 10).granted == 1
    assert guard.admit(slow, 1, 10).granted == 0


def test_the_breaker_opens_after_repeated_transport_errors_and_probes_later(guard, clock):
    guard.settle(INSTANCE, Admission(1), [True])
    assert admitted(guard) == 1  # one error is not a run
    guard.settle(INSTANCE, Admission(1), [True])

    refused = guard.admit(INSTANCE, 1, 10)
    assert refused.granted == 0 and refused.refusal is not None
    assert refused.refusal.wait_s == pytest.approx(30)
    assert "circuit open" in (refused.refusal.reason or "")

    clock.now += 31
    probe = guard.admit(INSTANCE, 3, 10)
    assert probe.granted == 1  # the probe, alone, however large the batch
    assert "half-open" in (probe.refusal.reason or "")
    assert admitted(guard) == 0  # others wait for the probe's answer

    guard.settle(INSTANCE, probe, [True])  # the probe failed: open again
    assert admitted(guard) == 0
    clock.now += 31
    probe = guard.admit(INSTANCE, 1, 10)
    assert probe.granted == 1
    guard.settle(INSTANCE, probe, [False])  # the probe worked: closed
    clock.now += 1  # a fresh rate-limit window
    assert admitted(guard, 3) == 3


def test_a_batch_of_errors_counts_as_a_run(guard):
    # Given a threshold of two, a batch whose two calls both failed opens the breaker
    guard.settle(INSTANCE, Admission(2), [True, True])
    assert admitted(guard) == 0


def test_a_good_answer_resets_the_run(guard):
    guard.settle(INSTANCE, Admission(1), [True])
    guard.settle(INSTANCE, Admission(1), [False])
    guard.settle(INSTANCE, Admission(1), [True])
    assert admitted(guard) == 1


def test_only_errors_after_the_last_answer_of_a_batch_count(guard):
    # Given calls that ended error, answer, error: the run so far is the one error at the end
    guard.settle(INSTANCE, Admission(3), [True, False, True])
    assert admitted(guard) == 1
    # and one more error makes it two in a row: open
    guard.settle(INSTANCE, Admission(1), [True])
    assert admitted(guard) == 0


def test_without_redis_the_check_goes_through():
    guard = Throttle(unreachable_redis())
    assert guard.admit(INSTANCE, 2, 10).granted == 2
    guard.settle(INSTANCE, Admission(2), [True, True])  # does not raise
