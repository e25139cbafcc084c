"""Prometheus metrics: what the engine did (worker processes) and what is at stake (admin app).

Two sources, because they answer different questions and cost different things:

- `worker.metrics.engine`: counters and histograms of work done (checks, resolutions, sweeps,
  webhook deliveries), counted in the process that did the work, only after its transaction
  committed. Every worker process serves them over HTTP on a port of its own (see
  `engine.serve`); the admin app serves the ones its own process counts (resolutions by hand).
- `worker.metrics.state`: gauges of what is unsettled right now (transfers, money at risk, the
  oldest, the outbox backlog, breakers, the last sweep), computed from Postgres and Redis by a
  few cheap queries when the admin app's `/metrics` is scraped, and cached for a few seconds so
  scrapes never load the database.

Every metric is defined once, in one of these two modules; `exported_names()` lists the names a
scrape can show, which is what dashboards and alert rules may use.
"""

from __future__ import annotations

from worker.metrics import engine, state


def exported_names() -> frozenset[str]:
    """Every sample name our metrics can produce (histograms as _bucket, _sum and _count)."""
    return engine.sample_names() | state.sample_names()


__all__ = ["engine", "exported_names", "state"]
