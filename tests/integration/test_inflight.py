"""Calls in flight per instance: the Redis semaphore behind Throttle.admit/settle (real Redis)."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest

from tests.conftest import scripted_instance, unreachable_redis
from worker.domain.policy import Policy
from worker.engine.check.inflight import InFlight
from worker.engine.check.throttle import SLOT_WAIT_S, Throttle

pytestmark = pytest.mark.integration


def instance_allowing(concurrency: int, name: str = "scripted-a"):
    return scripted_instance(name, Policy(initial_delay=timedelta(0), concurrency=concurrency))


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def test_no_more_slots_than_the_instance_s_concurrency(redis_client):
    # given
    slots = InFlight(redis_client)
    two = instance_allowing(2)
    # when
    first, second = slots.take(two, 10), slots.take(two, 10)
    # then
    assert first and second
    assert slots.take(two, 10) == []
    assert slots.count(two) == 2
    # when / then another instance has its own slots
    assert slots.take(instance_allowing(2, "scripted-b"), 10)


def test_a_slot_given_back_is_free_again(redis_client):
    # given
    slots = InFlight(redis_client)
    one = instance_allowing(1)
    held = slots.take(one, 10)
    assert held and slots.take(one, 10) == []

    # when it is given back
    slots.give_back(one, *held)
    # then
    assert slots.count(one) == 0
    assert slots.take(one, 10)


def test_the_slot_of_a_worker_that_died_frees_itself_after_deadline_and_margin(redis_client):
    # given a call of at most 10 s that never gives its slot back (its worker died)
    clock = Clock()
    slots = InFlight(redis_client, clock=clock, margin_s=5)
    one = instance_allowing(1)
    assert slots.take(one, 10)

    # when / then the slot stays taken until its deadline and margin are over, and no longer
    clock.now += 14.9
    assert slots.take(one, 10) == []
    clock.now += 0.2
    assert slots.take(one, 10)
    # and the key itself does not outlive the slots it holds
    assert 0 < redis_client.pttl("resolver:inflight:scripted-a") <= 16_000


def test_taking_a_slot_is_atomic_across_threads(redis_client):
    # given 24 threads that all try, at the same moment, to take one of 3 slots
    slots = InFlight(redis_client)
    three = instance_allowing(3)
    for _ in range(5):
        start = threading.Barrier(24)
        taken: list[list[str]] = []

        def contend(start: threading.Barrier = start, taken: list[list[str]] = taken) -> None:
            start.wait()
            taken.append(slots.take(three, 10))

        # when they all start at once
        threads = [threading.Thread(target=contend) for _ in range(24)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        # then exactly three got one, every round
        won = [slot for slot in taken if slot]
        assert len(won) == 3
        for slot in won:
            slots.give_back(three, *slot)


def test_a_batch_takes_only_the_slots_that_are_free(redis_client):
    # given an instance allowing 3 calls, one of them under way elsewhere
    slots = InFlight(redis_client)
    three = instance_allowing(3)
    assert slots.take(three, 10)

    # when a batch of five asks for slots
    batch = slots.take(three, 10, wanted=5)
    # then it gets the two left, and the next gets none
    assert len(batch) == 2 and len(set(batch)) == 2
    assert slots.take(three, 10, wanted=5) == []

    # when the batch gives its slots back
    slots.give_back(three, *batch)
    # then only the one under way is left
    assert slots.count(three) == 1


def test_the_guard_puts_a_batch_off_when_every_slot_is_taken(redis_client):
    # given one slot, held
    guard = Throttle(redis_client)
    one = instance_allowing(1)
    held = guard.admit(one, 1, 5)
    assert held.granted == 1 and held.slots

    # when
    refused = guard.admit(one, 3, 5)
    # then
    assert refused.granted == 0
    assert refused.refusal is not None
    assert refused.refusal.wait_s == SLOT_WAIT_S
    assert refused.refusal.reason == "all 1 call slots of the instance are in use"

    # when the held slot is settled
    guard.settle(one, held, [False])
    # then a new call is admitted
    assert guard.admit(one, 1, 5).granted == 1


def test_a_batch_larger_than_the_free_slots_is_admitted_in_part(redis_client):
    # given
    guard = Throttle(redis_client)
    two = instance_allowing(2)
    # when
    admitted = guard.admit(two, 5, 5)
    # then
    assert (admitted.granted, len(admitted.slots)) == (2, 2)
    assert admitted.refusal is not None and "call slots" in (admitted.refusal.reason or "")

    # when the calls are settled
    guard.settle(two, admitted, [False, False])
    # then
    assert InFlight(redis_client).count(two) == 0


def test_without_redis_the_guard_lets_the_calls_through():
    # given
    guard = Throttle(unreachable_redis())
    # when
    admitted = guard.admit(instance_allowing(1), 4, 5)
    # then
    assert (admitted.granted, admitted.slots) == (4, ())
    # when / then
    guard.settle(instance_allowing(1), admitted, [True] * 4)  # nothing to give back, no error
