"""Fan-out: each new event becomes one delivery per subscriber that wants its type.

The events come from `webhook_fanout_queue`, which a trigger fills in the transaction that wrote
each event. Queue rows are taken with SKIP LOCKED and deleted in the transaction that creates
their deliveries, so two passes at once split the work; the unique (subscriber, event_id)
makes a repeated fan-out create nothing new. An event nobody subscribes to is just dequeued.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import Engine, text
from sqlalchemy.dialects.postgresql import insert

from models import WebhookDelivery
from worker.process.db import transaction
from worker.webhooks.config import Subscriber

QUEUED = text(
    """
    WITH queued AS (
        SELECT event_seq FROM webhook_fanout_queue
        ORDER BY event_seq
        LIMIT :limit
        FOR UPDATE SKIP LOCKED
    )
    SELECT queued.event_seq AS seq, o.id AS event_id, o.type AS type
    FROM queued JOIN outbox_events o ON o.seq = queued.event_seq
    ORDER BY queued.event_seq
    """
)

DEQUEUE = text("DELETE FROM webhook_fanout_queue WHERE event_seq = ANY(:seqs)")


def fan_out(engine: Engine, subscribers: Mapping[str, Subscriber], now: datetime,
            limit: int) -> int:
    """Turn up to `limit` queued events into deliveries; return how many deliveries were made."""
    with transaction(engine) as session:
        queued = session.execute(QUEUED, {"limit": limit}).all()
        if not queued:
            return 0
        rows = [
            {"subscriber": subscriber.name, "event_id": event.event_id, "status": "pending",
             "next_attempt_at": now, "created_at": now, "updated_at": now}
            for event in queued
            for subscriber in subscribers.values()
            if subscriber.wants(event.type)
        ]
        created = 0
        if rows:
            statement = insert(WebhookDelivery).values(rows).on_conflict_do_nothing(
                index_elements=["subscriber", "event_id"]
            ).returning(WebhookDelivery.id)
            created = len(session.execute(statement).all())
        session.execute(DEQUEUE, {"seqs": [event.seq for event in queued]})
        return created
