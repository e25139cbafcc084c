"""Claiming due deliveries: FOR UPDATE SKIP LOCKED and a short lease, as the sweep claims checks.

A claimed delivery gets a fresh `lease_token` and its `next_attempt_at` pushed to when the lease
runs out. Only the holder of the token may record the outcome of its attempt; if the attempt's
message or worker is lost, the delivery becomes due again when the lease runs out. Claims are
made per subscriber, so one slow subscriber's backlog never crowds out the others.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, text

from worker.process.db import transaction


@dataclass(frozen=True)
class DeliveryClaim:
    delivery_id: int
    lease_token: uuid.UUID


CLAIM = text(
    """
    WITH due AS (
        SELECT id FROM webhook_deliveries
        WHERE status = 'pending' AND subscriber = :subscriber AND next_attempt_at <= :now
        ORDER BY next_attempt_at
        LIMIT :limit
        FOR UPDATE SKIP LOCKED
    )
    UPDATE webhook_deliveries d
    SET lease_token = :token, next_attempt_at = :lease_until, updated_at = :now
    FROM due WHERE d.id = due.id
    RETURNING d.id
    """
)


def claim_due(engine: Engine, subscriber: str, now: datetime, lease: timedelta,
              limit: int) -> list[DeliveryClaim]:
    token = uuid.uuid4()
    with transaction(engine) as session:
        ids = session.execute(CLAIM, {
            "subscriber": subscriber,
            "now": now,
            "limit": limit,
            "token": token,
            "lease_until": now + lease,
        }).scalars().all()
    return [DeliveryClaim(delivery_id, token) for delivery_id in sorted(ids)]
