"""How fast the engine settles transfers: a real worker and beat against the simulator.

Starts the simulator, a Celery worker and beat as child processes (their own database
`resolver_bench` and Redis database 12), registers --transfers transfers spread over the five
provider kinds (each answers pending once, then succeeded: two checks a transfer), and waits
until all are settled or --max-seconds pass. Prints transfers settled per second, checks per
second and the check latency percentiles the engine recorded. Talks only to 127.0.0.1.

    .venv/bin/python benchmarks/engine_throughput.py --transfers 2000
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import requests
from rich.console import Console
from sqlalchemy import text

from resolver_tools.demo import run, scenario
from resolver_tools.demo.processes import Processes
from worker.process.db import engine_for

POLICY = {
    "initial_delay": "0s",
    "schedule": ["200ms"],
    "concurrency": 32,
    "rate_limit_per_s": 100_000,
    "not_found_grace": "1m",
    "jitter": 0.0,
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transfers", type=int, default=2000)
    parser.add_argument("--worker-threads", type=int, default=32)
    parser.add_argument("--max-seconds", type=float, default=180)
    options = parser.parse_args()

    console = Console()
    work = Path.cwd() / ".bench"
    work.mkdir(exist_ok=True)
    database_url = run.fresh_database(console, "resolver_bench")
    redis_url = run.fresh_redis(console, 12)
    port = run.free_port(8098)
    sim_url = f"http://127.0.0.1:{port}"
    kinds = [i for i in scenario.instances() if i.name != "naga-wrong-secret"]
    (work / "providers.toml").write_text(scenario.providers_toml(sim_url, POLICY, kinds))
    (work / "sim.toml").write_text(scenario.sim_merchants_toml())
    env = {**os.environ, **scenario.environment(), "RESOLVER_DATABASE_URL": database_url,
           "RESOLVER_REDIS_URL": redis_url, "RESOLVER_PROVIDERS_FILE": str(work / "providers.toml"),
           "RESOLVER_WORKER_CONCURRENCY": str(options.worker_threads)}
    engine = engine_for(database_url)

    with Processes(work, env) as processes:
        processes.start("simulator", "worker.cli", "sim", "--port", str(port),
                        "--merchants", str(work / "sim.toml"))
        run.wait_until_up(f"{sim_url}/_sim/health", processes)
        transfers = [
            scenario.DemoTransfer(kinds[n % len(kinds)], f"B{n:07d}", "deposit",
                                  scenario.Decimal("10.00"), f"player-{n % 97}",
                                  f"tok-{n % 97}" if kinds[n % len(kinds)].kind == "minigame"
                                  else None, "bench", [{"answer": "pending"}, "succeeded"])
            for n in range(options.transfers)
        ]
        requests.post(f"{sim_url}/_sim/transactions",
                      json=[t.sim_transaction() for t in transfers], timeout=60).raise_for_status()
        processes.start("worker", "celery", "-A", "worker", "worker", "--loglevel=WARNING")
        processes.start("beat", "celery", "-A", "worker", "beat", "--loglevel=WARNING",
                        "--schedule", str(work / "celerybeat-schedule"))
        time.sleep(3)  # let the worker connect before the clock starts
        run.register_all(redis_url, transfers)
        started = time.monotonic()
        settled = 0
        while time.monotonic() - started < options.max_seconds:
            processes.check_alive()
            with engine.connect() as connection:
                settled = connection.execute(text(
                    "SELECT count(*) FROM transfers WHERE state = 'succeeded'")).scalar_one()
            if settled == options.transfers:
                break
            time.sleep(0.2)
        elapsed = time.monotonic() - started

    with engine.connect() as connection:
        checks, latencies = connection.execute(text(
            "SELECT count(*), array_agg(latency_ms) FROM checks")).one()
    latencies = sorted(latencies or [0])
    cuts = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else latencies * 99
    console.print(f"transfers        {options.transfers} ({settled} settled)")
    console.print(f"elapsed          {elapsed:.1f} s (registration to last resolution)")
    console.print(f"settled / second {settled / elapsed:.0f}")
    console.print(f"checks / second  {checks / elapsed:.0f} ({checks} checks)")
    console.print(f"check latency    p50 {cuts[49]:.0f} ms, p95 {cuts[94]:.0f} ms, "
                  f"max {latencies[-1]} ms")
    return 0 if settled == options.transfers else 1


if __name__ == "__main__":
    sys.exit(main())
