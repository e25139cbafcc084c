"""Consumer groups on the stream: at least once delivery, one handler call per event id."""

from __future__ import annotations

import threading
from collections import Counter

import pytest

from tests.integration.events.support import (
    BackgroundConsumer,
    outbox,
    pending_count,
    publish,
    republish,
    settle,
    wait_for,
)
from worker.consumer import ReceivedEvent, RedisDeduplicator, Verdict, consume
from worker.domain.types import Outcome

pytestmark = pytest.mark.integration


class Killed(BaseException):
    """Stands for the process dying: nothing after it runs, nothing catches it."""


def six_events_one_published_twice(rt) -> list[str]:
    settle(rt, {f"k{n}": Outcome.SUCCEEDED for n in range(6)})
    assert publish(rt) == 6
    events = outbox(rt)
    republish(rt, events[1])  # the relay crashed after XADD once: event 2 is on the stream twice
    return [str(event.id) for event in events]


def kill_after(calls: list[tuple[str, str]], handled: int):
    """A handler that records its calls and dies inside call number `handled + 1`."""

    def handler(event: ReceivedEvent) -> None:
        if len(calls) == handled:
            raise Killed
        calls.append(("a", event.id))

    return handler


def test_a_consumer_killed_mid_batch_leaves_its_events_to_another(rt, redis_client):
    ids = six_events_one_published_twice(rt)
    calls: list[tuple[str, str]] = []

    # Given consumer a read all seven entries in one batch and died inside its fourth call
    with pytest.raises(Killed):
        consume("balance", kill_after(calls, 3), consumer="a", client=rt.redis,
                stream=rt.settings.events_stream, batch=10, block_ms=50, reclaim_idle_ms=300)
    assert pending_count(rt, "balance") == 4  # events 4, 5, 6 and the second copy of event 2

    # When consumer b of the same group runs
    with BackgroundConsumer(rt, "balance", lambda event: calls.append(("b", event.id)),
                            consumer="b") as b:
        wait_for(lambda: len(calls) == 6 and pending_count(rt, "balance") == 0)
    stats = b.finish()

    # Then every event was handled by exactly one call, and nothing is left pending
    assert Counter(event_id for _, event_id in calls) == Counter(ids)
    assert [who for who, _ in calls] == ["a"] * 3 + ["b"] * 3
    assert stats.reclaimed >= 4
    assert stats.duplicates == 1  # the second copy of event 2, skipped by its id
    assert pending_count(rt, "balance") == 0


def test_without_deduplication_the_republished_event_is_handled_twice(rt, redis_client):
    ids = six_events_one_published_twice(rt)
    calls: list[str] = []
    with BackgroundConsumer(rt, "raw", lambda event: calls.append(event.id),
                            deduplicate=False):
        wait_for(lambda: len(calls) == 7)
    assert Counter(calls)[ids[1]] == 2


def test_each_group_gets_every_event(rt, redis_client):
    settle(rt, {"a": Outcome.SUCCEEDED, "b": Outcome.FAILED})
    publish(rt)
    seen: dict[str, list[str]] = {"wallet": [], "finance": []}
    with BackgroundConsumer(rt, "wallet", lambda e: seen["wallet"].append(e.id)), \
            BackgroundConsumer(rt, "finance", lambda e: seen["finance"].append(e.id)):
        wait_for(lambda: len(seen["wallet"]) == 2 and len(seen["finance"]) == 2)
    assert seen["wallet"] == seen["finance"] == [str(event.id) for event in outbox(rt)]


def test_a_failing_handler_is_retried_after_the_idle_time(rt, redis_client):
    settle(rt, {"a": Outcome.SUCCEEDED})
    publish(rt)
    tries: list[str] = []

    def flaky(event: ReceivedEvent) -> None:
        tries.append(event.id)
        if len(tries) == 1:
            raise RuntimeError("the balance service's database blinked")

    with BackgroundConsumer(rt, "balance", flaky) as consumer:
        wait_for(lambda: len(tries) == 2 and pending_count(rt, "balance") == 0)
    stats = consumer.finish()
    assert stats.failed == 1 and stats.handled == 1


class RecordingDeduplicator(RedisDeduplicator):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.verdicts: list[Verdict] = []

    def begin(self, event_id: str) -> Verdict:
        verdict = super().begin(event_id)
        self.verdicts.append(verdict)
        return verdict


def test_a_slow_handler_is_not_called_again_by_the_consumer_that_takes_its_entry(
        rt, redis_client):
    settle(rt, {"slow": Outcome.SUCCEEDED})
    publish(rt)
    stream = rt.settings.events_stream
    gate = threading.Event()
    calls: list[str] = []

    def slow(event: ReceivedEvent) -> None:
        calls.append("a")
        assert gate.wait(10)

    def markers() -> RecordingDeduplicator:
        # busy for 1.2 s: longer than the 300 ms after which b takes the entry over
        return RecordingDeduplicator.for_group(rt.redis, stream, "balance", busy_ms=1200)

    b_dedup = markers()
    with BackgroundConsumer(rt, "balance", slow, consumer="a", deduplicator=markers()):
        wait_for(lambda: calls == ["a"])
        # b takes the entry over once it has been idle 300 ms, and finds it busy
        with BackgroundConsumer(rt, "balance", lambda e: calls.append("b"), consumer="b",
                                deduplicator=b_dedup):
            wait_for(lambda: Verdict.BUSY in b_dedup.verdicts)
            gate.set()  # a finishes and acknowledges
            wait_for(lambda: pending_count(rt, "balance") == 0)
    assert calls == ["a"]


def test_a_consumer_that_stops_cleanly_leaves_the_group(rt, redis_client):
    settle(rt, {"a": Outcome.SUCCEEDED})
    publish(rt)
    seen: list[str] = []
    with BackgroundConsumer(rt, "balance", lambda e: seen.append(e.id), consumer="short-lived"):
        wait_for(lambda: len(seen) == 1 and pending_count(rt, "balance") == 0)
    consumers = redis_client.xinfo_consumers(rt.settings.events_stream, "balance")
    assert [c["name"] for c in consumers] == []
