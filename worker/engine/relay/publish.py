"""The relay: publish unpublished outbox events to the Redis Stream, in order.

At least once: an event is marked published only after Redis accepted it, so a crash between
the two publishes it again next time (consumers de-duplicate on the CloudEvents id). One relay
runs at a time (a Postgres advisory lock), which keeps the stream in outbox order and so keeps
each transfer's events in order. If Redis fails, nothing is marked and the next run retries.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import redis
from redis.typing import EncodableT, FieldT
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from worker.process import logs
from worker.process.db import transaction

log = logs.get(__name__)

# An arbitrary constant: the key of the advisory lock that serializes relays.
RELAY_LOCK = 0x7265_6C61_79

UNPUBLISHED = text(
    """
    SELECT seq, id, type, transfer_id, payload FROM outbox_events
    WHERE published_at IS NULL
    ORDER BY seq
    LIMIT :limit
    """
)

MARK_PUBLISHED = text(
    """
    UPDATE outbox_events SET published_at = :now, stream_entry_id = :entry
    WHERE seq = :seq
    """
)


def relay(engine: Engine, client: redis.Redis, stream: str, maxlen: int, batch: int) -> int:
    """Publish up to `batch` events; return how many were published."""
    with transaction(engine) as session:
        published = _publish(session, client, stream, maxlen, batch)
    if published and log.isEnabledFor(logging.INFO):  # committed: marked published
        _tell(published)
    return len(published)


def _publish(session: Session, client: redis.Redis, stream: str, maxlen: int,
             batch: int) -> Sequence[Any]:
    """The events published to the stream and marked so, in this transaction."""
    got_lock = session.execute(
        text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": RELAY_LOCK}
    ).scalar_one()
    if not got_lock:
        return []
    rows = session.execute(UNPUBLISHED, {"limit": batch}).all()
    if not rows:
        return []
    pipe = client.pipeline(transaction=False)
    for row in rows:
        pipe.xadd(stream, stream_fields(row.seq, row.id, row.type, row.transfer_id,
                                        row.payload),
                  maxlen=maxlen, approximate=True)
    try:
        entry_ids = pipe.execute()
    except redis.RedisError as exc:
        log.warning("relay: Redis refused the batch, will retry", error=str(exc),
                    events=len(rows))
        return []
    now = datetime.now(UTC)
    session.execute(MARK_PUBLISHED, [
        {"now": now, "entry": _text(entry), "seq": row.seq}
        for row, entry in zip(rows, entry_ids, strict=True)
    ])
    return [(row, _text(entry)) for row, entry in zip(rows, entry_ids, strict=True)]


def _tell(published: Sequence[Any]) -> None:
    """One line per event published, with the transfer it is about (from its payload)."""
    for row, entry in published:
        data = row.payload.get("data", {}) if isinstance(row.payload, dict) else {}
        log.info("event published", transfer_id=row.transfer_id,
                 provider=data.get("provider"), tx_id=data.get("tx_id"),
                 outcome=data.get("outcome"), event_id=str(row.id), type=row.type, seq=row.seq,
                 stream_entry=entry)


def stream_fields(seq: int, event_id: object, event_type: str, transfer_id: int,
                  payload: dict[str, object]) -> dict[FieldT, EncodableT]:
    return {
        "id": str(event_id),
        "type": event_type,
        "seq": str(seq),
        "transfer_id": str(transfer_id),
        "event": json.dumps(payload, separators=(",", ":"), sort_keys=True),
    }


def _text(entry: bytes | str) -> str:
    return entry.decode() if isinstance(entry, bytes) else entry
