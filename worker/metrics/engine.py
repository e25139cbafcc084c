"""Counters and histograms of the engine's work, served by every worker process.

Counted where the work is done, and only once its transaction has committed: a batch that rolls
back counts nothing, so the figures never include work the database does not hold. The engine
checks hundreds of transfers a second, so a batch is counted as a whole (one `inc(n)` per
outcome) and the label lookups are done once per batch, not once per check.

Serving: each worker process (started by Celery's `worker_init`, or `worker_process_init` for a
prefork pool's children) binds the first free port of [RESOLVER_METRICS_PORT,
RESOLVER_METRICS_PORT + PORT_SPAN) on every interface and logs the one it took, so several
worker processes on one host each get their own without configuration; Prometheus scrapes the
range (or each container's port). RESOLVER_METRICS_PORT=0 serves nothing. Beat does no work of
its own worth counting and serves nothing.

The metrics live in prometheus-client's default registry, with its process and Python
collectors (CPU, memory, open files, garbage collection) beside them.
"""

from __future__ import annotations

import logging
import os
import threading
from collections import Counter as Tally
from collections.abc import Iterable, Sequence
from typing import Any

import prometheus_client
from prometheus_client import REGISTRY, Counter, Gauge, Histogram

log = logging.getLogger(__name__)

# `_created` samples double every counter's series for a timestamp nobody here charts.
prometheus_client.disable_created_metrics()

PORT_SPAN = 16  # worker processes one host can run, each on its own port

CHECKS = Counter(
    "resolver_checks_total",
    "Provider answers recorded, by instance and normalized outcome (SUCCEEDED, FAILED, "
    "PENDING, NOT_FOUND, RATE_LIMITED, AUTH_ERROR, RETRY, MISMATCH).",
    ["provider", "outcome"],
)
REQUEST_DURATION = Histogram(
    "resolver_provider_request_duration_seconds",
    "How long one status query to the provider took, all its tries included (the check's "
    "recorded latency).",
    ["provider"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
RESOLUTIONS = Counter(
    "resolver_resolutions_total",
    "Transfers settled (succeeded, failed) or sent to review (needs_review), by who decided: "
    "engine (a provider's answer), caller (the wallet's complete) or admin (by hand).",
    ["provider", "state", "source"],
)
TIME_TO_RESOLUTION = Histogram(
    "resolver_time_to_resolution_seconds",
    "From the transfer's sent_at (the wallet's clock) to its final state, whoever settled it.",
    ["provider"],
    buckets=(1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600, 86400),
)
CHECK_LAG = Histogram(
    "resolver_check_lag_seconds",
    "From the moment a check fell due (next_check_at when the sweep claimed it) to its "
    "provider call starting: how far the engine runs behind its schedule.",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300),
)
SWEEP_DURATION = Histogram(
    "resolver_sweep_duration_seconds",
    "How long one sweep (expire in-flight, claim due transfers, dispatch their checks) took.",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
SWEEP_CLAIMED = Counter(
    "resolver_sweep_claimed_total",
    "Transfers the sweep claimed for a check, by instance (a batch's follow-up claims are not "
    "counted here).",
    ["provider"],
)
LAST_SWEEP = Gauge(
    "resolver_last_sweep_timestamp_seconds",
    "Unix time of the end of the last sweep this process ran (0: none yet).",
)
RATE_LIMITED = Counter(
    "resolver_rate_limited_total",
    "Checks put off by a rate limit: ours (the instance's rate_limit_per_s, so the check did "
    "not ask) plus the provider's own RATE_LIMITED answers.",
    ["provider"],
)
WEBHOOK_DELIVERIES = Counter(
    "resolver_webhook_deliveries_total",
    "Webhook delivery attempts made, by subscriber and result: delivered, retrying (failed, "
    "another attempt is scheduled) or failed (failed for good).",
    ["subscriber", "result"],
)

_DEFINED: tuple[Any, ...] = (CHECKS, REQUEST_DURATION, RESOLUTIONS, TIME_TO_RESOLUTION,
                             CHECK_LAG, SWEEP_DURATION, SWEEP_CLAIMED, LAST_SWEEP,
                             RATE_LIMITED, WEBHOOK_DELIVERIES)

FINAL_STATES = ("succeeded", "failed")


def sample_names() -> frozenset[str]:
    """The sample names these metrics produce."""
    names: set[str] = set()
    for metric in _DEFINED:
        for family in metric.describe():
            if family.type == "histogram":
                names.update(f"{family.name}{suffix}" for suffix in ("_bucket", "_sum", "_count"))
            elif family.type == "counter":
                names.add(f"{family.name}_total")
            else:
                names.add(family.name)
    return frozenset(names)


def count_batch(provider: str, outcomes: Sequence[str], latencies_s: Iterable[float],
                lags_s: Iterable[float], settled: Iterable[tuple[str, float | None]],
                rate_limited: int) -> None:
    """One committed batch of checks: its answers, call times, lags and what they decided.

    `settled` holds (state, seconds since sent_at) of each transfer the batch moved out of
    pending; the seconds are None for needs_review (not final).
    """
    for outcome, n in Tally(outcomes).items():
        CHECKS.labels(provider, outcome).inc(n)
    duration = REQUEST_DURATION.labels(provider)
    for seconds in latencies_s:
        duration.observe(seconds)
    for seconds in lags_s:
        CHECK_LAG.observe(max(seconds, 0.0))
    count_resolutions(provider, "engine", settled)
    if rate_limited:
        RATE_LIMITED.labels(provider).inc(rate_limited)


def count_resolutions(provider: str, source: str,
                      settled: Iterable[tuple[str, float | None]]) -> None:
    """Committed resolutions or reviews of one instance by one source (engine, caller, admin).

    `settled` holds (state, seconds from sent_at to the resolution); seconds of a review are
    not observed (needs_review is not final).
    """
    tally: Tally[str] = Tally()
    waited = None
    for state, seconds in settled:
        tally[state] += 1
        if state in FINAL_STATES and seconds is not None:
            waited = waited or TIME_TO_RESOLUTION.labels(provider)
            waited.observe(max(seconds, 0.0))
    for state, n in tally.items():
        RESOLUTIONS.labels(provider, state, source).inc(n)


def count_sweep(duration_s: float, claimed: dict[str, int], finished_at: float) -> None:
    """A sweep that committed its claims (and dispatched them)."""
    SWEEP_DURATION.observe(duration_s)
    for provider, n in claimed.items():
        if n:
            SWEEP_CLAIMED.labels(provider).inc(n)
    LAST_SWEEP.set(finished_at)


def count_webhook(subscriber: str, result: str) -> None:
    """An attempt whose result is recorded (delivered, retrying, failed)."""
    WEBHOOK_DELIVERIES.labels(subscriber, result).inc()


_served: tuple[int, int] | None = None  # (pid, port): a forked child serves anew
_serve_lock = threading.Lock()


def serve(port: int, span: int = PORT_SPAN) -> int | None:
    """Serve this process's metrics on the first free port of [port, port + span).

    Returns the port taken, or None when disabled (port 0), already serving, or every port of
    the range is taken (logged: the worker runs on without metrics rather than not at all).
    """
    global _served
    if port <= 0:
        return None
    with _serve_lock:
        if _served is not None and _served[0] == os.getpid():
            return _served[1]
        for candidate in range(port, min(port + span, 65536)):
            try:
                prometheus_client.start_http_server(candidate, registry=REGISTRY)
            except OSError:
                continue
            _served = (os.getpid(), candidate)
            log.info("metrics served on port %s", candidate)
            return candidate
    log.warning("metrics not served: ports %s to %s are all taken", port, port + span - 1)
    return None
