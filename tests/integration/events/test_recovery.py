"""Redis losing the stream loses no event: the relay publishes what was waiting, replay the rest."""

from __future__ import annotations

from collections import Counter

import pytest

from resolver_consumer import ReceivedEvent, RedisDeduplicator, consume, outbox_events, replay
from tests.integration.events.support import (
    BackgroundConsumer,
    outbox,
    pending_count,
    relay_now,
    settle,
    wait_for,
)
from worker.domain.types import Outcome

pytestmark = pytest.mark.integration


class Downstream:
    """A consumer's own store: what it handled, and the last seq it handled (its checkpoint)."""

    def __init__(self) -> None:
        self.handled: list[tuple[str, str]] = []  # (event id, "stream" or "replay")
        self.checkpoint = 0

    def handle(self, event: ReceivedEvent) -> None:
        self.handled.append((event.id, "stream" if event.entry_id else "replay"))
        self.checkpoint = max(self.checkpoint, event.seq)


def test_redis_flushed_while_events_are_unpublished(runtime, engine, redis_client):
    # given a consumer that replays the outbox when its group is missing
    stream = runtime.settings.events_stream
    downstream = Downstream()
    recreated: list[int] = []

    def catch_up() -> None:
        # Called when the group is missing (first start, or Redis lost it): the stream may
        # hold less than we missed. Replay the outbox after our checkpoint first; the
        # markers skip the overlap with the stream.
        recreated.append(downstream.checkpoint)
        marks = RedisDeduplicator.for_group(runtime.redis, stream, "balance", busy_ms=600)
        replay(outbox_events(engine, downstream.checkpoint), downstream.handle, marks)

    def consumer() -> BackgroundConsumer:
        return BackgroundConsumer(runtime, "balance", downstream.handle, on_missing_group=catch_up)

    # and it handled a and b
    settle(runtime, {"a": Outcome.SUCCEEDED, "b": Outcome.FAILED})
    relay_now(runtime)
    with consumer():
        wait_for(lambda: len(downstream.handled) == 2 and pending_count(runtime, "balance") == 0)

    # and c published but not yet read, d and e still in the outbox only
    settle(runtime, {"c": Outcome.SUCCEEDED})
    assert relay_now(runtime) == 1
    settle(runtime, {"d": Outcome.SUCCEEDED, "e": Outcome.MISMATCH})

    # when Redis loses everything: stream, group, de-duplication markers
    redis_client.flushdb()

    # then the relay publishes what was waiting
    assert relay_now(runtime) == 2
    assert redis_client.xlen(stream) == 2  # d and e: c is gone from the stream

    # and the consumer, finding its group gone, catches up from the outbox
    with consumer():
        wait_for(lambda: len(downstream.handled) == 5 and pending_count(runtime, "balance") == 0)

    # then every event was handled once, c by replay after b
    every_event = [str(event.id) for event in outbox(runtime)]
    assert Counter(event_id for event_id, _ in downstream.handled) == Counter(every_event)
    handled_c = dict(downstream.handled)[every_event[2]]
    assert handled_c == "replay"
    assert recreated[-1] == outbox(runtime)[1].seq  # it replayed after b, the last seq it had
    assert downstream.checkpoint == outbox(runtime)[-1].seq


def test_replay_gives_every_event_in_order_page_by_page(runtime, engine):
    # given
    settle(runtime, {f"r{n}": Outcome.SUCCEEDED for n in range(5)})
    every = [(event.seq, str(event.id)) for event in outbox(runtime)]

    # when
    replayed = [(event.seq, event.id) for event in outbox_events(engine, after=0, page=2)]
    # then
    assert replayed == every
    # when replayed after the third
    later = [event.seq for event in outbox_events(engine, after=every[2][0], page=2)]
    # then
    assert later == [seq for seq, _ in every[3:]]


def test_replay_stops_at_a_failing_handler(runtime, engine):
    # given
    settle(runtime, {"x": Outcome.SUCCEEDED, "y": Outcome.SUCCEEDED})
    seen: list[int] = []

    def fails_on_second(event: ReceivedEvent) -> None:
        if seen:
            raise RuntimeError("down")
        seen.append(event.seq)

    # when / then
    with pytest.raises(RuntimeError):
        replay(outbox_events(engine, 0), fails_on_second)
    # then
    assert seen == [outbox(runtime)[0].seq]


def test_a_failed_catch_up_is_tried_again_on_the_next_start(runtime, redis_client):
    # given
    settle(runtime, {"a": Outcome.SUCCEEDED})
    relay_now(runtime)
    calls: list[str] = []

    def database_down() -> None:
        calls.append("catch-up")
        raise ConnectionRefusedError("postgres is down")

    # when / then the first start fails in its catch-up
    with pytest.raises(ConnectionRefusedError):
        consume("balance", lambda event: None, client=runtime.redis,
                stream=runtime.settings.events_stream, block_ms=50, on_missing_group=database_down)
    # then no group was made: the catch-up is not forgotten
    assert redis_client.xinfo_groups(runtime.settings.events_stream) == []

    # when the consumer starts again
    handled: list[str] = []
    with BackgroundConsumer(runtime, "balance", lambda event: handled.append(event.id),
                            on_missing_group=lambda: calls.append("catch-up")):
        wait_for(lambda: len(handled) == 1)
    # then it catches up again
    assert calls == ["catch-up", "catch-up"]
