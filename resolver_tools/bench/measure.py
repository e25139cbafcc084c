"""What one contender's run cost and achieved: CPU and memory of its processes (memory also over
time), and the figures read back from the database, the simulator and the statement counter
once the run is over."""

from __future__ import annotations

import statistics
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import psutil
from sqlalchemy import Engine, text

from worker.engine.resolve import events

# RSS over time: one point a second at most, enough to see growth over a long steady run.
SERIES_EVERY_S = 1.0
# Memory is compared from when this share of the transfers has resolved (imports, pools and
# caches warmed up) to the end.
WARM_SHARE = 0.10
# A steady run kept up if its last resolution came at most this long after the last due time.
KEPT_UP_S = 3.0


@dataclass
class Usage:
    """CPU seconds (user + system) and resident memory of a set of process trees.

    CPU is counted from `start()` on, so start-up is left out; a process's last reading is kept
    if it ends. Peak RSS is the largest sum over the trees seen at any one sample; `series` keeps
    (seconds since start, RSS bytes, transfers resolved) about once a second.
    """

    pids: list[int]
    _baseline: dict[int, float] = field(default_factory=dict)
    _latest: dict[int, float] = field(default_factory=dict)
    _started: float = 0.0
    peak_rss: int = 0
    series: list[tuple[float, int, int]] = field(default_factory=list)

    def start(self) -> None:
        self._baseline = self._cpu_by_pid()
        self._latest = dict(self._baseline)
        self._started = time.monotonic()

    def sample(self, resolved: int, last: bool = False) -> None:
        rss = 0
        for process in self._processes():
            try:
                times = process.cpu_times()
                self._latest[process.pid] = times.user + times.system
                rss += process.memory_info().rss
            except psutil.Error:
                continue
        self.peak_rss = max(self.peak_rss, rss)
        elapsed = time.monotonic() - self._started
        if last or not self.series or elapsed - self.series[-1][0] >= SERIES_EVERY_S:
            self.series.append((round(elapsed, 2), rss, resolved))

    @property
    def cpu_s(self) -> float:
        return sum(used - self._baseline.get(pid, 0.0) for pid, used in self._latest.items())

    def _cpu_by_pid(self) -> dict[int, float]:
        found = {}
        for process in self._processes():
            try:
                times = process.cpu_times()
            except psutil.Error:
                continue
            found[process.pid] = times.user + times.system
        return found

    def _processes(self) -> list[psutil.Process]:
        found: list[psutil.Process] = []
        for pid in self.pids:
            try:
                root = psutil.Process(pid)
                found += [root, *root.children(recursive=True)]
            except psutil.Error:
                continue
        return found


def resolved_count(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(text(
            "SELECT count(*) FROM transfers WHERE state IN ('succeeded', 'failed')")).scalar_one())


def finish_seconds(engine: Engine, started: datetime) -> float:
    """From the go instant to the last resolution, by the rows' own timestamps."""
    with engine.connect() as connection:
        last = connection.execute(text("SELECT max(resolved_at) FROM transfers")).scalar_one()
    return max((last - started).total_seconds(), 1e-3) if last else float("nan")


def resolution_events(engine: Engine) -> int:
    """Resolution events written: more than the resolved transfers would be a duplicate."""
    with engine.connect() as connection:
        return int(connection.execute(text(
            "SELECT count(*) FROM outbox_events WHERE type = :type"),
            {"type": events.RESOLVED}).scalar_one())


def first_checks(engine: Engine) -> dict[int, float]:
    """When each transfer's first check started (epoch seconds), from the check rows."""
    with engine.connect() as connection:
        return {int(transfer_id): float(at) for transfer_id, at in connection.execute(text(
            "SELECT transfer_id, extract(epoch FROM min(started_at)) FROM checks "
            "GROUP BY transfer_id"))}


def lags(first_checked: Mapping[int, float], due: Mapping[int, float]) -> list[float]:
    """Seconds from each transfer's due time to the start of its first check (epoch seconds
    both), sorted."""
    return sorted(at - due[transfer_id] for transfer_id, at in first_checked.items())


def rss_change(series: list[tuple[float, int, int]], transfers: int) -> dict[str, float]:
    """RSS once the run has warmed up (the first sample with `WARM_SHARE` of the transfers
    resolved), at the end (the last sample), and the growth between them in percent."""
    if not series:
        return {"rss_start_mb": float("nan"), "rss_end_mb": float("nan"),
                "rss_growth_pct": float("nan")}
    warm = next((rss for _s, rss, resolved in series if resolved >= WARM_SHARE * transfers),
                series[-1][1])
    end = series[-1][1]
    return {"rss_start_mb": round(warm / 2**20, 1), "rss_end_mb": round(end / 2**20, 1),
            "rss_growth_pct": round(100 * (end - warm) / max(warm, 1), 1)}


def percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return float(ordered[min(len(ordered) - 1, int(share * len(ordered)))])


def figures(*, transfers: int, resolved: int, resolutions_written: int, seconds: float,
            queries: int, queries_per_transfer: int, statements: int, transactions: int,
            cpu_s: float, peak_rss: int, lags: list[float]) -> dict[str, Any]:
    """The figures of one run, as the report shows them."""
    return {
        "transfers": transfers,
        "resolved": resolved,
        "duplicate_resolutions": resolutions_written - resolved,
        "seconds": round(seconds, 3),
        "resolutions_per_s": round(resolved / seconds, 2),
        "checks": queries,
        "checks_per_s": round(queries / seconds, 2),
        "queries_per_resolution": round(queries / max(resolved, 1), 3),
        "duplicate_queries": queries - queries_per_transfer * resolved,
        "sql_statements": statements,
        "statements_per_check": round(statements / max(queries, 1), 2),
        "sql_transactions": transactions,
        "transactions_per_check": round(transactions / max(queries, 1), 2),
        "cpu_s": round(cpu_s, 2),
        "cpu_s_per_1000": round(1000 * cpu_s / max(resolved, 1), 2),
        "peak_rss_mb": round(peak_rss / 2**20, 1),
        "lag_p50_s": round(percentile(lags, 0.50), 3),
        "lag_p95_s": round(percentile(lags, 0.95), 3),
        "lag_p99_s": round(percentile(lags, 0.99), 3),
        "lag_max_s": round(max(lags, default=float("nan")), 3),
    }


def keeping_up(*, seconds: float, last_due_s: float) -> dict[str, Any]:
    """How far the last resolution came after the last due time (both from the go instant),
    and whether that is within `KEPT_UP_S`."""
    behind = seconds - last_due_s
    return {"last_due_s": round(last_due_s, 3), "behind_s": round(behind, 3),
            "kept_up": bool(behind <= KEPT_UP_S)}


def median_and_spread(values: list[float]) -> tuple[float, float, float]:
    return statistics.median(values), min(values), max(values)
