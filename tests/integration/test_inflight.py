"""Calls in flight per instance: the Redis semaphore behind Guard.enter/leave, on a real Redis."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest

from tests.conftest import scripted_instance, unreachable_redis
from worker.domain.policy import Policy
from worker.inflight import InFlight
from worker.throttle import SLOT_WAIT_S, Guard

pytestmark = pytest.mark.integration


def instance_allowing(concurrency: int, name: str = "scripted-a"):
    return scripted_instance(name, Policy(initial_delay=timedelta(0), concurrency=concurrency))


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def test_no_more_slots_than_the_instance_s_concurrency(redis_client):
    slots = InFlight(redis_client)
    two = instance_allowing(2)
    first, second = slots.take(two, 10), slots.take(two, 10)
    assert first and second
    assert slots.take(two, 10) is None
    assert slots.count(two) == 2
    # another instance has its own slots
    assert slots.take(instance_allowing(2, "scripted-b"), 10)


def test_a_slot_given_back_is_free_again(redis_client):
    slots = InFlight(redis_client)
    one = instance_allowing(1)
    held = slots.take(one, 10)
    assert held and slots.take(one, 10) is None
    slots.give_back(one, held)
    assert slots.count(one) == 0
    assert slots.take(one, 10)


def test_the_slot_of_a_worker_that_died_frees_itself_after_deadline_and_margin(redis_client):
    # Given a call of at most 10 s that never gives its slot back (its worker died)
    clock = Clock()
    slots = InFlight(redis_client, clock=clock, margin_s=5)
    one = instance_allowing(1)
    assert slots.take(one, 10)

    # Then the slot stays taken until its deadline and margin are over, and no longer
    clock.now += 14.9
    assert slots.take(one, 10) is None
    clock.now += 0.2
    assert slots.take(one, 10)
    # and the key itself does not outlive the slots it holds
    assert 0 < redis_client.pttl("resolver:inflight:scripted-a") <= 16_000


def test_taking_a_slot_is_atomic_across_threads(redis_client):
    # Given 24 threads that all try, at the same moment, to take one of 3 slots
    slots = InFlight(redis_client)
    three = instance_allowing(3)
    for _ in range(5):
        start = threading.Barrier(24)
        taken: list[str | None] = []

        def contend(start: threading.Barrier = start, taken: list[str | None] = taken) -> None:
            start.wait()
            taken.append(slots.take(three, 10))

        threads = [threading.Thread(target=contend) for _ in range(24)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        # Then exactly three got one, every round
        won = [slot for slot in taken if slot]
        assert len(won) == 3
        for slot in won:
            slots.give_back(three, slot)


def test_the_guard_puts_a_call_off_when_every_slot_is_taken(redis_client):
    guard = Guard(redis_client)
    one = instance_allowing(1)
    held = guard.enter(one, 5)
    assert held.allowed and held.slot

    refused = guard.enter(one, 5)
    assert not refused.allowed
    assert refused.wait_s == SLOT_WAIT_S
    assert refused.reason == "all 1 call slots of the instance are in use"

    guard.leave(one, held)
    assert guard.enter(one, 5).allowed


def test_without_redis_the_guard_lets_the_call_through():
    guard = Guard(unreachable_redis())
    entered = guard.enter(instance_allowing(1), 5)
    assert entered.allowed and entered.slot is None
    guard.leave(instance_allowing(1), entered)  # nothing to give back, and no error
