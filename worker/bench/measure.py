"""What one contender's run cost and achieved: CPU and memory of its processes, and the figures
read back from the database, the simulator and the statement counter once the drain is over."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import psutil
from sqlalchemy import Engine, text

from worker import events
from worker.bench.workload import QUERIES_PER_TRANSFER


@dataclass
class Usage:
    """CPU seconds (user + system) and resident memory of a set of process trees.

    CPU is counted from `start()` on, so start-up is left out; a process's last reading is kept
    if it ends. Peak RSS is the largest sum over the trees seen at any one sample.
    """

    pids: list[int]
    _baseline: dict[int, float] = field(default_factory=dict)
    _latest: dict[int, float] = field(default_factory=dict)
    peak_rss: int = 0

    def start(self) -> None:
        self._baseline = self._cpu_by_pid()
        self._latest = dict(self._baseline)

    def sample(self) -> None:
        rss = 0
        for process in self._processes():
            try:
                times = process.cpu_times()
                self._latest[process.pid] = times.user + times.system
                rss += process.memory_info().rss
            except psutil.Error:
                continue
        self.peak_rss = max(self.peak_rss, rss)

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
    """From the drain's start to the last resolution, by the rows' own timestamps."""
    with engine.connect() as connection:
        last = connection.execute(text("SELECT max(resolved_at) FROM transfers")).scalar_one()
    return max((last - started).total_seconds(), 1e-3) if last else float("nan")


def resolution_events(engine: Engine) -> int:
    """Resolution events written: more than the resolved transfers would be a duplicate."""
    with engine.connect() as connection:
        return int(connection.execute(text(
            "SELECT count(*) FROM outbox_events WHERE type = :type"),
            {"type": events.RESOLVED}).scalar_one())


def first_check_lags(engine: Engine, started: datetime) -> list[float]:
    """Seconds from the due time to the start of each transfer's first check."""
    with engine.connect() as connection:
        return sorted(connection.execute(text(
            "SELECT extract(epoch FROM min(started_at) - :due) FROM checks GROUP BY transfer_id"),
            {"due": started}).scalars())


def percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return float(ordered[min(len(ordered) - 1, int(share * len(ordered)))])


def figures(*, transfers: int, resolved: int, resolutions_written: int, seconds: float,
            queries: int, statements: int, transactions: int, cpu_s: float, peak_rss: int,
            lags: list[float]) -> dict[str, Any]:
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
        "duplicate_queries": queries - QUERIES_PER_TRANSFER * resolved,
        "sql_statements": statements,
        "statements_per_check": round(statements / max(queries, 1), 2),
        "sql_transactions": transactions,
        "transactions_per_check": round(transactions / max(queries, 1), 2),
        "cpu_s": round(cpu_s, 2),
        "cpu_s_per_1000": round(1000 * cpu_s / max(resolved, 1), 2),
        "peak_rss_mb": round(peak_rss / 2**20, 1),
        "lag_p50_s": round(percentile(lags, 0.50), 3),
        "lag_p99_s": round(percentile(lags, 0.99), 3),
    }


def median_and_spread(values: list[float]) -> tuple[float, float, float]:
    return statistics.median(values), min(values), max(values)
