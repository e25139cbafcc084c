"""Gauges of what is unsettled right now, read from Postgres and Redis at scrape time.

Served by the admin app's `/metrics` (no token, like /healthz). A scrape costs two statements
and one Redis round trip, and their answer is kept CACHE_S seconds, so however many Prometheus
servers scrape and however often, the database answers at most one scrape per CACHE_S:

- open transfers by instance, state and currency (count, amount, oldest sent_at) in one GROUP BY
  that reads only the rows not yet final, through the state index; the settled history, which
  grows without end, is never scanned;
- the unpublished outbox (count, oldest), through the partial index on unpublished rows;
- the breakers of every configured instance and the sweep's heartbeat, in one MGET.

Money is summed as NUMERIC by Postgres and kept Decimal until the gauge's float: a gauge is
for a chart and an alert threshold, never for accounting.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import redis
from prometheus_client import REGISTRY, CollectorRegistry, Metric
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import Engine, bindparam, text

from worker.domain import types
from worker.engine.check import throttle
from worker.process import heartbeat

log = logging.getLogger(__name__)

CACHE_S = 5.0
OPEN_STATES = types.OPEN_STATES

# Name -> (help, labels): every gauge this module exports, defined once.
GAUGES: dict[str, tuple[str, tuple[str, ...]]] = {
    "resolver_transfers": (
        "Transfers not yet final, by instance and state (in_flight, pending, needs_review).",
        ("provider", "state")),
    "resolver_unsettled_amount": (
        "Money at risk: the sum of the amounts of transfers not yet final, in the currency's "
        "unit, by instance, currency and state.",
        ("provider", "currency", "state")),
    "resolver_oldest_unsettled_seconds": (
        "Age of the oldest transfer not yet final, from its sent_at (the wallet's clock), by "
        "instance and state; 0 when there is none.",
        ("provider", "state")),
    "resolver_outbox_unpublished": (
        "Events written but not yet published to the stream by the relay.", ()),
    "resolver_outbox_oldest_unpublished_seconds": (
        "Age of the oldest event not yet published; 0 when the outbox is drained.", ()),
    "resolver_breaker_open": (
        "1 while the instance's circuit breaker is not closed (open, or half open until a "
        "probe gets an answer), else 0; every configured instance is listed.",
        ("provider",)),
    "resolver_last_sweep_timestamp_seconds": (
        "Unix time of the last sweep, from its heartbeat in Redis; 0 when none ran in the "
        "last hour.",
        ()),
}

# Every transfer not yet final, grouped: the three transfer gauges come from this one statement.
# `state IN (...)` is answered from ix_transfers_state_created, so only open rows are read.
OPEN_TRANSFERS = text(
    """
    SELECT provider, state, currency, count(*) AS transfers, sum(amount) AS amount,
           min(sent_at) AS oldest_sent_at
    FROM transfers
    WHERE state IN :states
    GROUP BY provider, state, currency
    """
).bindparams(bindparam("states", OPEN_STATES, expanding=True))

# The relay's backlog, read through ix_outbox_unpublished (only rows not yet published).
OUTBOX = text(
    """
    SELECT count(*) AS unpublished, min(created_at) AS oldest
    FROM outbox_events WHERE published_at IS NULL
    """
)


@dataclass(frozen=True)
class OpenGroup:
    provider: str
    state: str
    currency: str
    transfers: int
    amount: Decimal
    oldest_sent_at: datetime


@dataclass(frozen=True)
class Snapshot:
    """What one scrape reads; None where Redis could not be reached."""

    taken_at: float  # Unix time
    open_transfers: Sequence[OpenGroup]
    outbox_unpublished: int
    outbox_oldest: datetime | None
    breakers: Mapping[str, throttle.BreakerState] | None
    last_sweep: float | None  # Unix time; None when Redis is unreachable, 0 when no heartbeat


def sample_names() -> frozenset[str]:
    return frozenset(GAUGES)


def read(engine: Engine, client: redis.Redis, instances: Sequence[str],
         now: float) -> Snapshot:
    """One scrape's worth of facts. Postgres failing fails the scrape; Redis failing omits
    the breakers and the sweep (logged), so money at risk is still seen."""
    with engine.connect() as connection:
        groups = [OpenGroup(**row) for row in connection.execute(OPEN_TRANSFERS).mappings()]
        outbox = connection.execute(OUTBOX).mappings().one()
    breakers: Mapping[str, throttle.BreakerState] | None
    try:
        breakers = throttle.breaker_states(client, instances, now)
        beat = client.get(heartbeat.SWEEP)
        last_sweep: float | None = float(beat) if beat is not None else 0.0
    except redis.RedisError as exc:
        log.warning("metrics: Redis unreachable, breakers and sweep left out: %s", exc)
        breakers, last_sweep = None, None
    return Snapshot(now, groups, int(outbox["unpublished"]), outbox["oldest"], breakers,
                    last_sweep)


def families(snapshot: Snapshot, instances: Iterable[str]) -> list[Metric]:
    """The gauges of one snapshot. Every configured instance shows a 0 for each open state it
    has no transfer in, so a series exists before its first transfer and after its last."""
    gauge = {name: GaugeMetricFamily(name, doc, labels=list(labels))
             for name, (doc, labels) in GAUGES.items()}
    counts: dict[tuple[str, str], int] = {(name, state): 0 for name in instances
                                          for state in OPEN_STATES}
    oldest: dict[tuple[str, str], datetime] = {}
    for group in snapshot.open_transfers:
        key = (group.provider, group.state)
        counts[key] = counts.get(key, 0) + group.transfers
        if key not in oldest or group.oldest_sent_at < oldest[key]:
            oldest[key] = group.oldest_sent_at
        gauge["resolver_unsettled_amount"].add_metric(
            [group.provider, group.currency, group.state], float(group.amount))
    for (provider, state), count in sorted(counts.items()):
        gauge["resolver_transfers"].add_metric([provider, state], count)
        since = oldest.get((provider, state))
        age = max(snapshot.taken_at - since.timestamp(), 0.0) if since else 0.0
        gauge["resolver_oldest_unsettled_seconds"].add_metric([provider, state], age)
    gauge["resolver_outbox_unpublished"].add_metric([], snapshot.outbox_unpublished)
    oldest_event = snapshot.outbox_oldest
    gauge["resolver_outbox_oldest_unpublished_seconds"].add_metric(
        [], max(snapshot.taken_at - oldest_event.timestamp(), 0.0) if oldest_event else 0.0)
    for name, breaker in sorted((snapshot.breakers or {}).items()):
        gauge["resolver_breaker_open"].add_metric([name], 0.0 if breaker.closed else 1.0)
    if snapshot.last_sweep is not None:
        gauge["resolver_last_sweep_timestamp_seconds"].add_metric([], snapshot.last_sweep)
    return list(gauge.values())


class StateCollector(Collector):
    """The gauges, read at most once per `ttl_s` whatever the number of scrapes."""

    def __init__(self, engine: Engine, client: redis.Redis, instances: Sequence[str],
                 ttl_s: float = CACHE_S, clock: Callable[[], float] = time.time) -> None:
        self.engine = engine
        self.redis = client
        self.instances = sorted(instances)
        self.ttl_s = ttl_s
        self.clock = clock
        self._lock = threading.Lock()
        self._cached: list[Metric] | None = None
        self._cached_at = 0.0

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            now = self.clock()
            if self._cached is None or now - self._cached_at >= self.ttl_s:
                snapshot = read(self.engine, self.redis, self.instances, now)
                self._cached = families(snapshot, self.instances)
                self._cached_at = now
            return iter(self._cached)


# What the admin process itself counts: the resolutions made by hand (and their times).
ADMIN_COUNTED = ("resolver_resolutions", "resolver_time_to_resolution_seconds")


class ProcessCollector(Collector):
    """The admin process's own share of the default registry: its CPU and memory, and the
    resolutions made by hand. The engine's other metrics stay out: here they would only be
    zeros (no check runs in this process), and its last sweep would shadow the heartbeat's."""

    def __init__(self, source: CollectorRegistry = REGISTRY) -> None:
        self.source = source

    def collect(self) -> Iterator[Metric]:
        for family in self.source.collect():
            if not family.name.startswith("resolver_") or family.name in ADMIN_COUNTED:
                yield family


def admin_registry(engine: Engine, client: redis.Redis,
                   instances: Sequence[str]) -> CollectorRegistry:
    """What the admin app's /metrics serves: the gauges, and the process's counters."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StateCollector(engine, client, instances))
    registry.register(ProcessCollector())
    return registry
