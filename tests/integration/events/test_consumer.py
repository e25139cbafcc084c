"""Consumer groups on the stream: at least once delivery, one handler call per event id."""

from __future__ import annotations

import threading
from collections import Counter

import pytest

from resolver_consumer import Mark, ReceivedEvent, RedisDeduplicator, consume
from tests.integration.events.support import (
    BackgroundConsumer,
    outbox,
    pending_count,
    relay_now,
    republish,
    settle,
    wait_for,
)
from worker.domain.types import Outcome

pytestmark = pytest.mark.integration


class Killed(BaseException):
    """Stands for the process dying: nothing after it runs, nothing catches it."""


def six_events_one_published_twice(runtime) -> list[str]:
    settle(runtime, {f"k{n}": Outcome.SUCCEEDED for n in range(6)})
    assert relay_now(runtime) == 6
    events = outbox(runtime)
    # the relay crashed after XADD once: event 2 is on the stream twice
    republish(runtime, events[1])
    return [str(event.id) for event in events]


def kill_after(calls: list[tuple[str, str]], handled: int):
    """A handler that records its calls and dies inside call number `handled + 1`."""

    def handler(event: ReceivedEvent) -> None:
        if len(calls) == handled:
            raise Killed
        calls.append(("a", event.id))

    return handler


def test_a_consumer_killed_mid_batch_leaves_its_events_to_another(runtime, redis_client):
    # given six events, one published twice
    ids = six_events_one_published_twice(runtime)
    calls: list[tuple[str, str]] = []

    # and consumer a read all seven entries in one batch and died inside its fourth call
    with pytest.raises(Killed):
        consume("balance", kill_after(calls, 3), consumer="a", client=runtime.redis,
                stream=runtime.settings.events_stream, batch=10, block_ms=50, reclaim_idle_ms=300)
    assert pending_count(runtime, "balance") == 4  # events 4, 5, 6 and the second copy of event 2

    # when consumer b of the same group runs
    with BackgroundConsumer(runtime, "balance", lambda event: calls.append(("b", event.id)),
                            consumer="b") as b:
        wait_for(lambda: len(calls) == 6 and pending_count(runtime, "balance") == 0)
    stats = b.finish()

    # then every event was handled by exactly one call, and nothing is left pending
    assert Counter(event_id for _, event_id in calls) == Counter(ids)
    assert [who for who, _ in calls] == ["a"] * 3 + ["b"] * 3
    assert stats.reclaimed >= 4
    assert stats.duplicates == 1  # the second copy of event 2, skipped by its id
    assert pending_count(runtime, "balance") == 0


def test_without_deduplication_the_republished_event_is_handled_twice(runtime, redis_client):
    # given
    ids = six_events_one_published_twice(runtime)
    calls: list[str] = []
    # when
    with BackgroundConsumer(runtime, "raw", lambda event: calls.append(event.id),
                            deduplicate=False):
        wait_for(lambda: len(calls) == 7)
    # then
    assert Counter(calls)[ids[1]] == 2


def test_each_group_gets_every_event(runtime, redis_client):
    # given
    settle(runtime, {"a": Outcome.SUCCEEDED, "b": Outcome.FAILED})
    relay_now(runtime)
    seen: dict[str, list[str]] = {"wallet": [], "finance": []}
    # when
    with BackgroundConsumer(runtime, "wallet", lambda e: seen["wallet"].append(e.id)), \
            BackgroundConsumer(runtime, "finance", lambda e: seen["finance"].append(e.id)):
        wait_for(lambda: len(seen["wallet"]) == 2 and len(seen["finance"]) == 2)
    # then
    assert seen["wallet"] == seen["finance"] == [str(event.id) for event in outbox(runtime)]


def test_a_failing_handler_is_retried_after_the_idle_time(runtime, redis_client):
    # given
    settle(runtime, {"a": Outcome.SUCCEEDED})
    relay_now(runtime)
    tries: list[str] = []

    def flaky(event: ReceivedEvent) -> None:
        tries.append(event.id)
        if len(tries) == 1:
            raise RuntimeError("the balance service's database blinked")

    # when
    with BackgroundConsumer(runtime, "balance", flaky) as consumer:
        wait_for(lambda: len(tries) == 2 and pending_count(runtime, "balance") == 0)
    stats = consumer.finish()
    # then
    assert stats.failed == 1 and stats.handled == 1


class RecordingDeduplicator(RedisDeduplicator):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.marks_seen: list[Mark] = []

    def begin(self, event_id: str) -> Mark:
        verdict = super().begin(event_id)
        self.marks_seen.append(verdict)
        return verdict


def test_a_slow_handler_is_not_called_again_by_the_consumer_that_takes_its_entry(
        runtime, redis_client):
    # given
    settle(runtime, {"slow": Outcome.SUCCEEDED})
    relay_now(runtime)
    stream = runtime.settings.events_stream
    gate = threading.Event()
    calls: list[str] = []

    def slow(event: ReceivedEvent) -> None:
        calls.append("a")
        assert gate.wait(10)

    def markers() -> RecordingDeduplicator:
        # busy for 1.2 s: longer than the 300 ms after which b takes the entry over
        return RecordingDeduplicator.for_group(runtime.redis, stream, "balance", busy_ms=1200)

    b_dedup = markers()
    # when a is slow with the event
    with BackgroundConsumer(runtime, "balance", slow, consumer="a", deduplicator=markers()):
        wait_for(lambda: calls == ["a"])
        # b takes the entry over once it has been idle 300 ms, and finds it busy
        with BackgroundConsumer(runtime, "balance", lambda e: calls.append("b"), consumer="b",
                                deduplicator=b_dedup):
            wait_for(lambda: Mark.BUSY in b_dedup.marks_seen)
            gate.set()  # a finishes and acknowledges
            wait_for(lambda: pending_count(runtime, "balance") == 0)
    # then
    assert calls == ["a"]


def test_a_consumer_that_stops_cleanly_leaves_the_group(runtime, redis_client):
    # given
    settle(runtime, {"a": Outcome.SUCCEEDED})
    relay_now(runtime)
    seen: list[str] = []
    # when
    with BackgroundConsumer(runtime, "balance", lambda e: seen.append(e.id),
                            consumer="short-lived"):
        wait_for(lambda: len(seen) == 1 and pending_count(runtime, "balance") == 0)
    # then
    consumers = redis_client.xinfo_consumers(runtime.settings.events_stream, "balance")
    assert [c["name"] for c in consumers] == []
