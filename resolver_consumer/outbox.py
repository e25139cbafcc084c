"""The outbox in Postgres is the record of every event, in order.

A consumer that missed part of the stream (trimmed, or Redis restarted empty) reads the events
after the last `seq` it handled, from here, then goes back to the stream. The admin API's
`GET /api/v1/events` serves the same pages over HTTP.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, text

AFTER = text(
    """
    SELECT seq, payload FROM outbox_events
    WHERE seq > :after
    ORDER BY seq
    LIMIT :limit
    """
)

MAX_PAGE = 1000


def events_after(engine: Engine, after: int, limit: int = 100) -> list[dict[str, Any]]:
    """Up to `limit` events with seq greater than `after`: {"seq": n, "event": CloudEvent}."""
    if after < 0:
        raise ValueError("after must be 0 or more")
    if not 1 <= limit <= MAX_PAGE:
        raise ValueError(f"limit must be between 1 and {MAX_PAGE}")
    with engine.connect() as connection:
        rows = connection.execute(AFTER, {"after": after, "limit": limit}).all()
    return [{"seq": row.seq, "event": row.payload} for row in rows]
