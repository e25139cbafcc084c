"""A consumer's own settings, from the same RESOLVER_* variables the service reads.

The library needs only where the stream is and how to read it; it does not load the service's
settings (database, providers, admin), so a downstream service can use it without them.
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ConsumerSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RESOLVER_", extra="ignore")

    redis_url: str = "redis://127.0.0.1:6379/0"
    events_stream: str = "resolver:events"
    consumer_block_ms: int = Field(default=2000, ge=1)
    consumer_batch: int = Field(default=50, ge=1)
    consumer_reclaim_idle_ms: int = Field(default=60_000, ge=1)  # must exceed the slowest handler
    consumer_dedup_ttl_s: int = Field(default=7 * 86400, ge=1)
