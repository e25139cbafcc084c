"""Is this deployment able to do its work? The checks behind `resolver health`.

Each check answers for one thing a role needs, so a container's health check asks only about
what that container can be blamed for (see ROLES). Nothing here reads the providers file or
needs a provider's secret: a health check must run in any container, with only the database and
Redis URLs set.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import redis
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.pool import NullPool

from worker.process import heartbeat
from worker.process.settings import Settings

# Defaults for the age checks. The sweep runs every second (RESOLVER_SWEEP_INTERVAL_S), so 30 s
# is many missed sweeps, not one slow one; the relay also runs every second, so an event
# unpublished for a minute means the relay is not running or cannot write to Redis.
SWEEP_MAX_AGE_S = 30.0
OUTBOX_MAX_AGE_S = 60.0

# What each role's container health check requires, and why:
# - worker: Postgres and Redis, the two things every task needs. Not the sweep's age: the sweep
#   is scheduled by beat, which may run elsewhere, and marking every worker unhealthy because
#   beat stopped would point at the wrong container.
# - beat: Redis (its broker), the sweep's age and the outbox backlog: the two jobs beat schedules
#   every second. The sweep's heartbeat is written by the worker that ran the sweep, so a stale
#   one also means no worker takes the default queue; the message says so.
# - admin: Postgres and Redis, what the admin's pages read (the same as its /readyz).
# - all: everything, for an operator at a terminal or an outside monitor.
ROLES: dict[str, tuple[str, ...]] = {
    "worker": ("postgres", "redis"),
    "beat": ("redis", "sweep", "outbox"),
    "admin": ("postgres", "redis"),
    "all": ("postgres", "redis", "sweep", "outbox"),
}

# Reads only the partial index of unpublished events (ix_outbox_unpublished): cheap while the
# backlog is small, which is exactly when health checks run most.
OUTBOX_BACKLOG = text(
    """
    SELECT count(*) AS unpublished,
           EXTRACT(EPOCH FROM now() - min(created_at)) AS oldest_s
    FROM outbox_events WHERE published_at IS NULL
    """
)


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


@dataclass(frozen=True)
class Report:
    role: str
    checks: tuple[Check, ...]

    @property
    def healthy(self) -> bool:
        return all(check.ok for check in self.checks)

    @property
    def failed(self) -> list[str]:
        return [check.name for check in self.checks if not check.ok]

    def as_dict(self) -> dict[str, Any]:
        return {"healthy": self.healthy, "role": self.role,
                "checks": [asdict(check) for check in self.checks]}


def probe_engine(settings: Settings, timeout_s: float) -> Engine:
    """A connection of its own, with a connect timeout: a health check must answer in time.

    No pool: the check connects once and leaves, and must not hold a connection afterwards.
    """
    return create_engine(settings.database_url, poolclass=NullPool,
                         connect_args={"connect_timeout": max(1, round(timeout_s))})


def probe_redis(settings: Settings, timeout_s: float) -> redis.Redis:
    return redis.Redis.from_url(settings.redis_url, socket_timeout=timeout_s,
                                socket_connect_timeout=timeout_s)


def run(engine: Engine, client: redis.Redis, role: str = "all", *,
        sweep_max_age_s: float = SWEEP_MAX_AGE_S,
        outbox_max_age_s: float = OUTBOX_MAX_AGE_S) -> Report:
    wanted = ROLES[role]
    checks: list[Check] = []
    postgres_up = redis_up = False
    if "postgres" in wanted or "outbox" in wanted:
        postgres_up, detail = _attempt(lambda: _postgres(engine))
        if "postgres" in wanted:
            checks.append(Check("postgres", postgres_up, detail))
    if "redis" in wanted or "sweep" in wanted:
        redis_up, detail = _attempt(lambda: _redis(client))
        if "redis" in wanted:
            checks.append(Check("redis", redis_up, detail))
    if "sweep" in wanted:
        checks.append(_sweep(client, sweep_max_age_s) if redis_up else
                      Check("sweep", False, "not known: Redis is unreachable"))
    if "outbox" in wanted:
        checks.append(_outbox(engine, outbox_max_age_s) if postgres_up else
                      Check("outbox", False, "not known: Postgres is unreachable"))
    return Report(role, tuple(checks))


def _attempt(probe: Callable[[], str]) -> tuple[bool, str]:
    try:
        return True, probe()
    except Exception as exc:  # whatever keeps us from the service is the answer, not an error
        return False, f"unreachable: {_first_line(exc)}"


def _first_line(exc: Exception) -> str:
    # SQLAlchemy wraps the driver's error and prefixes its class name: the driver's own words
    # ("connection refused", "database ... does not exist") are what an operator needs.
    cause = getattr(exc, "orig", None) or exc
    lines = str(cause).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def _postgres(engine: Engine) -> str:
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))
    return "reachable"


def _redis(client: redis.Redis) -> str:
    client.ping()
    return "reachable"


def _sweep(client: redis.Redis, max_age_s: float) -> Check:
    try:
        since = heartbeat.seconds_since(client, heartbeat.SWEEP)
    except redis.RedisError as exc:
        return Check("sweep", False, f"not known: {_first_line(exc)}")
    if since is None:
        return Check("sweep", False, "no sweep ran in the last hour: is beat running, and a "
                                     "worker taking the default queue?")
    if since > max_age_s:
        return Check("sweep", False, f"last sweep {since:.1f} s ago (limit {max_age_s:g} s): "
                                     "is beat running, and a worker taking the default queue?")
    return Check("sweep", True, f"last sweep {since:.1f} s ago")


def _outbox(engine: Engine, max_age_s: float) -> Check:
    try:
        with engine.connect() as connection:
            row = connection.execute(OUTBOX_BACKLOG).one()
    except Exception as exc:
        return Check("outbox", False, f"not known: {_first_line(exc)}")
    if row.unpublished == 0:
        return Check("outbox", True, "every event published")
    oldest = float(row.oldest_s)
    if oldest > max_age_s:
        return Check("outbox", False,
                     f"{row.unpublished} events unpublished, the oldest for {oldest:.1f} s "
                     f"(limit {max_age_s:g} s): is the relay running, can it write to Redis?")
    return Check("outbox", True,
                 f"{row.unpublished} events unpublished, the oldest for {oldest:.1f} s")


def describe(report: Report) -> Sequence[str]:
    """Lines for a person: one per check, then the verdict naming what failed."""
    lines = [f"{'ok' if check.ok else 'FAIL':<4}  {check.name:<8}  {check.detail}"
             for check in report.checks]
    verdict = ("healthy" if report.healthy else
               f"unhealthy: {', '.join(report.failed)}")
    lines.append(f"{verdict} (role {report.role})")
    return lines
