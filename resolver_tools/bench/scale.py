"""The scale scenario: how long one sweep takes to claim 1,000 due transfers as the table grows.

For each size (10k, 100k, 1M transfers stored, all but the due ones already final) and with and
without a backlog of 300k pending transfers waiting for a later check, the table is filled in
one INSERT ... SELECT, analysed, and `worker.engine.sweep.due.sweep` (the deployed pass: expire
in-flight, review unconfigured, then the concurrency count and the claim per instance) runs
several times, the due rows put back between passes. Reported: the median pass, and the query
plans of the claim and of the concurrency count, as Postgres runs them (EXPLAIN ANALYZE, rolled
back)."""

from __future__ import annotations

import statistics
import time
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, text

from resolver_tools.bench import workload
from worker.engine.sweep import due
from worker.providers.instance import ProviderInstance

SIZES = (10_000, 100_000, 1_000_000)
BACKLOGS = (0, 300_000)
DUE = 1_000
PASSES = 5

# Row g: the first DUE are due now, the next `backlog` wait an hour, the rest are final. The
# instances take turns, so each has a fifth of every kind.
FILL = text(
    """
    INSERT INTO transfers (provider, direction, tx_id, player_id, amount, currency, sent_at,
                           state, next_check_at, resolved_at, resolved_by, registered_by)
    SELECT (CAST(:providers AS text[]))[1 + g % :instances], 'deposit', 'SCALE' || g,
           'player-' || (g % 97), 10, 'USD', now() - interval '1 hour',
           CASE WHEN g < :due + :backlog THEN 'pending' ELSE 'succeeded' END,
           CASE WHEN g < :due THEN now() - interval '1 second'
                WHEN g < :due + :backlog THEN now() + interval '1 hour' END,
           CASE WHEN g < :due + :backlog THEN NULL ELSE now() END,
           CASE WHEN g < :due + :backlog THEN NULL ELSE 'bench' END,
           'bench'
    FROM generate_series(0, :stored + :backlog - 1) AS g
    """
)
# Between passes: the claimed rows due again, unleased, as the next pass would find them.
UNCLAIM = text(
    """
    UPDATE transfers SET lease_token = NULL, next_check_at = :due_at
    WHERE state = 'pending' AND lease_token IS NOT NULL
    """
)


def run(engine: Engine, providers: Mapping[str, ProviderInstance],
        show: Callable[[str], None]) -> list[dict[str, Any]]:
    results = []
    for stored in SIZES:
        for backlog in BACKLOGS:
            results.append(measure(engine, providers, stored, backlog))
            show(f"{stored:,} + {backlog:,}")
    return results


def measure(engine: Engine, providers: Mapping[str, ProviderInstance], stored: int,
            backlog: int) -> dict[str, Any]:
    workload.reset_database(engine)
    with engine.begin() as connection:
        connection.execute(FILL, {"providers": list(providers), "instances": len(providers),
                                  "due": DUE, "backlog": backlog,
                                  "stored": stored})
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE transfers"))
    passes, claimed = [], 0
    for _ in range(PASSES):
        now = datetime.now(UTC)
        started = time.perf_counter()
        counts = due.sweep(engine, providers, now, lease=timedelta(seconds=60), limit=500,
                           dispatch=lambda claims: None)
        passes.append(1000 * (time.perf_counter() - started))
        claimed = sum(counts[name] for name in providers)
        with engine.begin() as connection:
            connection.execute(UNCLAIM, {"due_at": now - timedelta(seconds=1)})
    instance = next(iter(providers))
    return {
        "stored": stored,
        "backlog": backlog,
        "claimed_per_pass": claimed,
        "sweep_ms": [round(ms, 2) for ms in passes],
        "sweep_ms_median": round(statistics.median(passes), 2),
        "claim_plan": _plan(engine, due.CLAIM, {
            "providers": [instance], "now": datetime.now(UTC), "limits": [500],
            "token": uuid.uuid4(), "lease_until": datetime.now(UTC) + timedelta(seconds=60)}),
        "concurrency_count_plan": _plan(engine, due.LEASED, {
            "providers": [instance], "now": datetime.now(UTC)}),
    }


def _plan(engine: Engine, query: Any, params: dict[str, Any]) -> list[str]:
    """The plan Postgres ran, with timings; the claim's changes are rolled back."""
    with engine.connect() as connection, connection.begin() as transaction:
        lines = [row[0] for row in connection.execute(
            text(f"EXPLAIN (ANALYZE, COSTS OFF) {query.text}"), params)]
        transaction.rollback()
    return lines


def markdown(results: list[dict[str, Any]]) -> str:
    lines = [f"Scenario scale: one sweep pass claiming {DUE:,} due transfers over five instances "
             f"(median of {PASSES} passes).", "",
             "| stored | waiting backlog | sweep pass ms | claim plan | claim ms | "
             "concurrency count ms |", "|---|---|---|---|---|---|"]
    for result in results:
        lines.append(f"| {result['stored']:,} | {result['backlog']:,} | "
                     f"{result['sweep_ms_median']:.1f} | {_access(result['claim_plan'])} | "
                     f"{_execution_ms(result['claim_plan'])} | "
                     f"{_execution_ms(result['concurrency_count_plan'])} |")
    return "\n".join(lines) + "\n"


def _access(plan: list[str]) -> str:
    for line in plan:
        for kind in ("Index Only Scan", "Index Scan", "Bitmap Heap Scan", "Seq Scan"):
            if kind in line:
                return kind + (" " + line.split(" using ")[1].split(" ")[0]
                               if " using " in line else "")
    return "?"


def _execution_ms(plan: list[str]) -> str:
    for line in plan:
        if line.startswith("Execution Time:"):
            return line.split(":")[1].strip().replace(" ms", "")
    return "?"
