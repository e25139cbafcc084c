"""When the engine's periodic jobs last ran, for health checks (kept in Redis, best effort)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import redis

log = logging.getLogger(__name__)
SWEEP = "resolver:heartbeat:sweep"


def beat(client: redis.Redis, key: str, now: datetime) -> None:
    try:
        client.set(key, now.timestamp(), ex=3600)
    except redis.RedisError as exc:
        log.warning("could not record heartbeat %s: %s", key, exc)


def seconds_since(client: redis.Redis, key: str) -> float | None:
    """None when the job never ran in the last hour (or Redis forgot)."""
    value = client.get(key)
    if value is None:
        return None
    return datetime.now(UTC).timestamp() - float(value)
