"""The relay publishes outbox events to the stream in order, at least once, losing none."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from models import OutboxEvent
from tests.conftest import unreachable_redis
from tests.integration.support import events, register
from worker.domain.types import Outcome
from worker.engine.check.batch import NoGuard, run_check
from worker.engine.relay import publish
from worker.engine.sweep.due import claim_due
from worker.process.db import transaction
from worker.providers.scripted import SCRIPTS

pytestmark = pytest.mark.integration


def resolve_some(runtime, engine, outcomes: dict[str, Outcome]) -> None:
    for tx_id, outcome in outcomes.items():
        register(runtime, tx_id=tx_id)
        SCRIPTS.load("scripted-a", tx_id, [outcome])
    for claim in claim_due(engine, runtime.providers["scripted-a"], datetime.now(UTC),
                           timedelta(seconds=30), 100):
        run_check(engine, runtime.providers, claim.transfer_id, claim.lease_token,
                  runtime.adapter_for,
                  NoGuard())


def relay_now(runtime, client=None) -> int:
    return publish.relay(runtime.engine, client or runtime.redis, runtime.settings.events_stream,
                         1000, 100)


def test_events_reach_the_stream_as_cloudevents_in_outbox_order(runtime, engine, redis_client):
    # given
    resolve_some(runtime, engine, {"a": Outcome.SUCCEEDED, "b": Outcome.FAILED,
                                   "c": Outcome.MISMATCH})
    # when / then the three are published, and nothing is left
    assert relay_now(runtime) == 3
    assert relay_now(runtime) == 0  # nothing left

    # then the stream holds them as CloudEvents, in outbox order
    entries = redis_client.xrange(runtime.settings.events_stream)
    published = [json.loads(fields[b"event"]) for _id, fields in entries]
    assert [event["type"] for event in published] == [
        "transfer.resolved", "transfer.resolved", "transfer.needs_review"]
    first = published[0]
    assert first["specversion"] == "1.0"
    assert first["subject"] == str(first["data"]["transfer_id"])
    assert first["data"]["tx_id"] == "a"
    assert first["data"]["amount"] == "10.0000"
    assert first["data"]["resolved_by"] == "engine"
    assert first["data"]["attempts"] == 1
    assert [int(fields[b"seq"]) for _id, fields in entries] == sorted(
        int(fields[b"seq"]) for _id, fields in entries)

    # then each outbox row is marked published, with its stream entry
    with transaction(engine) as session:
        rows = session.query(OutboxEvent).order_by(OutboxEvent.seq).all()
        assert all(row.published_at is not None for row in rows)
        assert [row.stream_entry_id for row in rows] == [
            entry_id.decode() for entry_id, _ in entries]
        assert [str(row.id) for row in rows] == [event["id"] for event in published]


def test_a_redis_failure_leaves_events_for_the_next_run(runtime, engine, redis_client):
    # given
    resolve_some(runtime, engine, {"a": Outcome.SUCCEEDED})
    unreachable = unreachable_redis()
    # when / then a relay with Redis out of reach publishes nothing
    assert relay_now(runtime, unreachable) == 0
    # then
    [event] = events(engine, 1)
    assert event.published_at is None

    # when / then the next relay publishes it
    assert relay_now(runtime) == 1
    assert redis_client.xlen(runtime.settings.events_stream) == 1


def test_redis_restarting_empty_loses_nothing(runtime, engine, redis_client):
    # given a published event
    resolve_some(runtime, engine, {"a": Outcome.SUCCEEDED})
    assert relay_now(runtime) == 1
    # when Redis loses the stream
    redis_client.flushdb()  # the stream is gone; the outbox in Postgres is the record
    # then
    with transaction(engine) as session:
        assert session.query(OutboxEvent).count() == 1


def test_one_relay_at_a_time(runtime, engine, redis_client):
    from sqlalchemy import text

    # given an event waiting, and another relay holding the lock
    resolve_some(runtime, engine, {"a": Outcome.SUCCEEDED})
    with engine.connect() as holder:
        holder.execute(text("SELECT pg_advisory_lock(:key)"), {"key": publish.RELAY_LOCK})
        # when / then this one publishes nothing
        assert relay_now(runtime) == 0
        # when the lock is let go
        holder.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": publish.RELAY_LOCK})
    # when / then the next relay publishes it
    assert relay_now(runtime) == 1
