"""Process settings from RESOLVER_* environment variables, with defaults for a local machine."""

from __future__ import annotations

from datetime import timedelta
from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RESOLVER_", extra="ignore")

    database_url: str = "postgresql+psycopg://postgres@127.0.0.1:5432/resolver"
    redis_url: str = "redis://127.0.0.1:6379/0"
    # The Celery broker; the Redis above unless set.
    broker_url: str | None = None
    # Where intake tasks leave their reply for the wallet; the Redis above unless set.
    result_backend: str | None = None
    result_expires_s: int = Field(default=3600, ge=1)  # a reply nobody read is dropped after this
    providers_file: str = "providers.toml"
    # One operator token named "admin"; more tokens with roles in admin_tokens (name:role:token,...)
    admin_token: str | None = None
    admin_tokens: str | None = None
    # The most transfers one bulk action may act on (worker.admin.bulk); narrow the filter past it.
    bulk_max: int = Field(default=10_000, ge=1, le=100_000)
    # The admin console's guards (worker.admin.body_limit, worker.admin.login_guard): request
    # bodies refused past this size, unread; an address with this many wrong tokens in a window
    # is answered 429 until the window ends; behind a proxy, the proxy addresses whose
    # X-Forwarded-For is believed (uvicorn's forwarded_allow_ips), so each client counts alone.
    admin_max_body_bytes: int = Field(default=1024 * 1024, ge=1)
    admin_failed_token_limit: int = Field(default=10, ge=1)
    admin_failed_token_window_s: int = Field(default=60, ge=1)
    admin_forwarded_allow_ips: str | None = None

    events_stream: str = "resolver:events"
    stream_maxlen: int = Field(default=100_000, ge=1)

    sweep_interval_s: float = Field(default=1.0, gt=0)
    sweep_limit: int = Field(default=500, ge=1)  # transfers claimed per instance per sweep
    # Checks per batch: asked concurrently, applied in one transaction (worker.engine.check.batch).
    check_batch: int = Field(default=16, ge=1, le=500)
    # How long a claimed transfer stays with its check. A provider call gets at most half of what
    # is left of it (worker.engine.check.batch), so it must leave room for a call: at least 5 s.
    lease_s: float = Field(default=60.0, ge=5)
    # The longest a write-ahead transfer may stay in flight (an admin cannot touch it meanwhile):
    # `begin`'s deadline must lie in (0, this], and an instance's in_flight_deadline is held to it.
    # At most a week: longer is no write-ahead any more, it is a transfer nobody watches.
    max_in_flight_deadline_s: float = Field(default=3600.0, gt=0, le=7 * 86400)
    relay_batch: int = Field(default=500, ge=1)
    worker_concurrency: int = Field(default=16, ge=1)

    # Webhooks: subscribers in a TOML file; retries wait in Postgres on this schedule
    webhooks_file: str | None = None
    webhook_schedule: str = "10s,30s,2m,10m,30m,1h,3h"
    webhook_interval_s: float = Field(default=1.0, gt=0)
    webhook_batch: int = Field(default=100, ge=1)  # deliveries claimed per subscriber per pass
    webhook_lease_s: float = Field(default=60.0, gt=0)

    # How long a four-eyes proposal waits for a second operator before it expires (seconds).
    proposal_ttl_s: float = Field(default=24 * 3600, gt=0, le=30 * 86400)

    @property
    def proposal_ttl(self) -> timedelta:
        return timedelta(seconds=self.proposal_ttl_s)

    log_format: str = "console"  # or "json"
    # Each worker process serves its metrics on the first free port from this one on
    # (worker.metrics.engine); 0 serves none.
    metrics_port: int = Field(default=9464, ge=0, le=65535)
    # An OTLP/HTTP collector's base URL (http://collector:4318): traces on (worker.process.tracing).
    # Unset, the standard OTEL_EXPORTER_OTLP_* variables turn them on; with neither, off.
    otel_endpoint: str | None = None

    @property
    def broker(self) -> str:
        return self.broker_url or self.redis_url

    @property
    def results(self) -> str:
        return self.result_backend or self.redis_url


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
