"""The runnable examples in examples/ do what the README's "Consuming events" says."""

from __future__ import annotations

import sys
import threading

import pytest

from tests.integration.admin.support import VIEWER_TOKEN, serving_admin
from tests.integration.events.examples import EXAMPLES, load_example
from tests.integration.events.support import outbox, pending_count, relay_now, settle, wait_for
from worker.domain.types import Outcome

pytestmark = pytest.mark.integration


@pytest.fixture
def examples(monkeypatch):
    # Run as scripts, the examples import their neighbour balance_store from their folder.
    monkeypatch.syspath_prepend(str(EXAMPLES))
    yield
    sys.modules.pop("balance_store", None)


def test_the_store_applies_each_event_once(runtime, examples):
    # given
    store = load_example("balance_store").BalanceStore()
    settle(runtime, {"a": Outcome.SUCCEEDED, "b": Outcome.MISMATCH})
    resolved, review = outbox(runtime)
    # when / then an event applies once, its second sighting not
    assert store.apply(resolved.seq, resolved.payload) is True
    assert store.apply(resolved.seq, resolved.payload) is False
    # when / then a review event applies too
    assert store.apply(review.seq, review.payload) is True
    # then only the resolved one is settled, and the checkpoint is the last seq
    settled = store.db.execute("SELECT transfer_id, outcome, amount FROM settled").fetchall()
    assert settled == [(resolved.transfer_id, "succeeded", "10.0000")]
    assert store.checkpoint() == review.seq


def test_the_stream_consumer_catches_up_then_follows_the_stream(runtime, examples, monkeypatch):
    # given
    consumer = load_example("stream_consumer")
    store = load_example("balance_store").BalanceStore()
    monkeypatch.setattr(consumer, "get_engine", lambda: runtime.engine)
    settle(runtime, {"early": Outcome.SUCCEEDED})  # in the outbox before the group exists
    settle(runtime, {"later": Outcome.FAILED})
    relay_now(runtime)  # both are on the stream too: the store skips the second sighting

    # when the consumer runs until it has caught up
    stop = threading.Event()
    thread = threading.Thread(target=consumer.run, args=("balance", store, stop), kwargs={
        "client": runtime.redis, "stream": runtime.settings.events_stream, "block_ms": 50})
    thread.start()
    try:
        wait_for(lambda: store.checkpoint() == outbox(runtime)[-1].seq
                 and pending_count(runtime, "balance") == 0)
    finally:
        stop.set()
        thread.join(10)
    # then
    handled = store.db.execute("SELECT event_id FROM handled ORDER BY seq").fetchall()
    assert [row[0] for row in handled] == [str(event.id) for event in outbox(runtime)]


def test_replay_catch_up_applies_what_the_store_missed(runtime, examples, monkeypatch):
    # given
    replay = load_example("replay_catch_up")
    store = load_example("balance_store").BalanceStore()
    monkeypatch.setattr(replay, "get_engine", lambda: runtime.engine)
    settle(runtime, {"a": Outcome.SUCCEEDED, "b": Outcome.FAILED, "c": Outcome.SUCCEEDED})
    first = outbox(runtime)[0]
    store.apply(first.seq, first.payload)

    # when / then it applies the two it missed and skips the one it had
    assert replay.catch_up(store, replay.from_outbox(0)) == (2, 1)
    # when / then a second run from its checkpoint finds nothing
    assert replay.catch_up(store, replay.from_outbox(store.checkpoint())) == (0, 0)
    # then
    assert store.checkpoint() == outbox(runtime)[-1].seq


def test_replay_catch_up_pages_through_the_admin_api(runtime, examples):
    # given
    replay = load_example("replay_catch_up")
    settle(runtime, {f"p{n}": Outcome.SUCCEEDED for n in range(5)})
    # when
    with serving_admin(runtime) as url:
        records = list(replay.from_api(url, VIEWER_TOKEN, after=0, page=2))
    # then
    assert [record["seq"] for record in records] == [event.seq for event in outbox(runtime)]
    assert [record["event"] for record in records] == [event.payload for event in outbox(runtime)]
