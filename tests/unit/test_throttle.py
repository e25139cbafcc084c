"""Rate limit and circuit breaker over Redis (fakeredis: the behaviour, without a server)."""

from __future__ import annotations

from datetime import timedelta

import fakeredis
import pytest

from tests.conftest import scripted_instance, unreachable_redis
from worker.domain.policy import Policy
from worker.throttle import Guard


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def guard(clock: Clock) -> Guard:
    return Guard(fakeredis.FakeRedis(), clock=clock)


INSTANCE = scripted_instance(policy=Policy(rate_limit_per_s=3, breaker_threshold=2,
                                           breaker_cooldown=timedelta(seconds=30)))


def test_the_rate_limit_lets_through_so_many_per_second(guard, clock):
    allowed = [guard.acquire(INSTANCE).allowed for _ in range(5)]
    assert allowed == [True, True, True, False, False]
    refused = guard.acquire(INSTANCE)
    assert 0 < refused.wait_s <= 1
    clock.now += 1
    assert guard.acquire(INSTANCE).allowed


def test_slow_rates_get_a_longer_window(clock):
    guard = Guard(fakeredis.FakeRedis(), clock=clock)
    slow = scripted_instance(policy=Policy(rate_limit_per_s=0.5))
    assert guard.acquire(slow).allowed
    assert not guard.acquire(slow).allowed


def test_the_breaker_opens_after_repeated_transport_errors_and_probes_later(guard, clock):
    guard.record(INSTANCE, transport_error=True)
    assert guard.acquire(INSTANCE).allowed  # one error is not a run
    guard.record(INSTANCE, transport_error=True)

    refused = guard.acquire(INSTANCE)
    assert not refused.allowed
    assert refused.wait_s == pytest.approx(30)
    assert "circuit open" in (refused.reason or "")

    clock.now += 31
    assert guard.acquire(INSTANCE).allowed  # the probe
    assert not guard.acquire(INSTANCE).allowed  # others wait for the probe's answer

    guard.record(INSTANCE, transport_error=True)  # the probe failed: open again
    assert not guard.acquire(INSTANCE).allowed
    clock.now += 31
    assert guard.acquire(INSTANCE).allowed
    guard.record(INSTANCE, transport_error=False)  # the probe worked: closed
    clock.now += 1  # a fresh rate-limit window
    assert all(guard.acquire(INSTANCE).allowed for _ in range(3))


def test_a_good_answer_resets_the_run(guard):
    guard.record(INSTANCE, transport_error=True)
    guard.record(INSTANCE, transport_error=False)
    guard.record(INSTANCE, transport_error=True)
    assert guard.acquire(INSTANCE).allowed


def test_without_redis_the_check_goes_through():
    guard = Guard(unreachable_redis())
    assert guard.acquire(INSTANCE).allowed
    guard.record(INSTANCE, transport_error=True)  # does not raise
