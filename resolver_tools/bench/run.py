"""One `resolver bench` invocation: the simulator once, then rounds of every contender.

Each run starts from the same state: Redis database emptied, every table truncated, the
simulator's answers and counts reset, the same transfers loaded. Within a round the contenders
run one after the other, their order turned by one each round, so that a noisy minute on this
shared machine does not always fall on the same contender.

The drain makes every transfer due at the go instant; steady makes one due every 1/rate
seconds from it (`workload.due_offsets`) and measures the lag from each one's own due time,
whether the contender kept up, and its memory over the run.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import redis
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy import Engine

from resolver_tools.bench import contenders, measure, scale, statements, workload
from resolver_tools.chaos.services import free_port
from resolver_tools.demo import run as demo_run
from resolver_tools.demo import scenario
from resolver_tools.demo.processes import Processes
from worker.process.db import engine_for
from worker.providers.config import load_providers

# The resolver's policy for the drain: re-check a pending transfer after 0.2 s (naive Celery's
# countdown and the bare limit's wait), and no rate limit or concurrency cap in the way. Naga
# answers a pending transfer as not found, so the grace outlasts any run: within it, not found
# means ask again, as it does for the other two contenders.
POLICY = {
    "initial_delay": "0s",
    "schedule": ["200ms"],
    "concurrency": 1000,
    "rate_limit_per_s": 100_000,
    "not_found_grace": "1h",
    "jitter": 0.0,
}
POLL_S = 0.25


@dataclass(frozen=True)
class Options:
    scenario: str
    transfers: int  # steady: rate x duration
    rounds: int
    shape: contenders.Shape
    latency_ms: int
    out: Path
    database: str
    redis_db: int
    names: tuple[str, ...]
    max_seconds: float
    rate: float | None = None  # steady: transfers falling due per second
    duration_s: float | None = None  # steady: for how long they keep falling due


def bench(console: Console, options: Options) -> dict[str, Any]:
    """Run every round and return the whole record (also what report writes out)."""
    if options.scenario not in ("drain", "steady", "scale"):
        raise NotImplementedError(f"scenario {options.scenario!r} is not built yet")
    work = options.out / "work"
    work.mkdir(parents=True, exist_ok=True)
    database_url = demo_run.fresh_database(console, options.database)
    redis_url = demo_run.fresh_redis(console, options.redis_db)
    # A port of the kernel's choosing, not a fixed preference: two benchmarks started at once
    # must never share one simulator (the second's would fail to bind, and the first's answer
    # its health check, then its reset wipe the other's scripts).
    sim_url = f"http://127.0.0.1:{free_port()}"
    providers_file = work / "providers.toml"
    providers_file.write_text(scenario.providers_toml(sim_url, POLICY, workload.KINDS))
    (work / "sim.toml").write_text(scenario.sim_merchants_toml(workload.KINDS))
    env = {**os.environ, **scenario.environment(workload.KINDS),
           "RESOLVER_DATABASE_URL": database_url, "RESOLVER_REDIS_URL": redis_url,
           "RESOLVER_BROKER_URL": redis_url,
           "RESOLVER_PROVIDERS_FILE": str(providers_file),
           "RESOLVER_WORKER_CONCURRENCY": str(options.shape.threads)}
    engine = engine_for(database_url)
    # The harness reads the same providers file to register the transfers as intake would.
    os.environ.update(scenario.environment(workload.KINDS))
    providers = load_providers(str(providers_file))
    if options.scenario == "scale":
        with _progress(console) as progress:
            bar = progress.add_task("scale", total=len(scale.SIZES) * len(scale.BACKLOGS))
            results = scale.run(engine, providers,
                                lambda done: progress.update(bar, advance=1, description=done))
        return {"scenario": "scale", "date": datetime.now(UTC).isoformat(timespec="seconds"),
                "machine": machine(), "results": results}
    made = workload.transfers(options.transfers, options.scenario)
    runs: list[dict[str, Any]] = []
    with Processes(work, env) as services, _progress(console) as progress:
        services.start("simulator", "worker.cli", "sim", "--port", sim_url.rsplit(":", 1)[1],
                       "--merchants", str(work / "sim.toml"))
        demo_run.wait_until_up(f"{sim_url}/_sim/health", services)
        time.sleep(0.5)
        services.check_alive()  # the answer came from our simulator, not one already there
        for round_ in range(options.rounds):
            turn = round_ % len(options.names)
            for name in options.names[turn:] + options.names[:turn]:
                contender = contenders.CONTENDERS[name]()
                bar = progress.add_task(f"round {round_ + 1}/{options.rounds} {name}",
                                        total=options.transfers)
                run = _one_run(contender, options, engine, providers, made, sim_url, redis_url,
                               work, env, lambda done, bar=bar: progress.update(bar,
                                                                                completed=done))
                runs.append({"round": round_ + 1, "contender": name, **run})
    steady = {"rate": options.rate, "duration_s": options.duration_s,
              "kept_up_within_s": measure.KEPT_UP_S, "warm_share": measure.WARM_SHARE}
    return {
        "scenario": options.scenario,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "transfers": options.transfers,
        **(steady if options.scenario == "steady" else {}),
        "rounds": options.rounds,
        "processes": options.shape.processes,
        "threads": options.shape.threads,
        "latency_ms": options.latency_ms,
        "script": workload.script_text(options.scenario),
        "contenders": {name: contenders.CONTENDERS[name].label for name in options.names},
        "runs": runs,
    }


def _one_run(contender: Any, options: Options, engine: Engine, providers: Any,
             made: list[scenario.DemoTransfer], sim_url: str, redis_url: str, work: Path,
             env: dict[str, str], show: Any) -> dict[str, Any]:
    redis.Redis.from_url(redis_url).flushdb()
    workload.reset_database(engine)
    workload.reset_simulator(sim_url, made, options.latency_ms)
    workload.load_database(engine, providers, made)
    ids = workload.pending_ids(engine)
    offsets = workload.due_offsets(len(ids), options.rate)
    run_dir = work / contender.name
    run_dir.mkdir(exist_ok=True)
    with Processes(run_dir, env) as processes:
        contender.start(processes, options.shape, ids, offsets, run_dir)
        usage = measure.Usage([process.pid for _name, process in processes.running])
        usage.start()
        statements_before = statements.read(redis_url)
        started = contender.go(engine, ids, offsets)
        # The limit counts from the last due time, so a long steady run is not cut short.
        deadline = time.monotonic() + offsets[-1] + options.max_seconds
        resolved = 0
        while resolved < len(ids):
            if time.monotonic() > deadline:
                raise RuntimeError(f"{contender.name}: {len(ids) - resolved} transfers still "
                                   f"open {options.max_seconds:.0f} s after the last fell due "
                                   f"(logs in {run_dir})")
            _check_running(processes)
            usage.sample(resolved)
            time.sleep(POLL_S)
            resolved = measure.resolved_count(engine)
            show(resolved)
        usage.sample(resolved, last=True)
        extra = contender.finish()
        time.sleep(2 * statements.FLUSH_S)  # the counters' last flush
        statements_after = statements.read(redis_url)
    queries = int(workload.simulator_queries(sim_url)["queries"])
    if "first_checked" in extra:
        first_checked = extra["first_checked"]
        written = int(extra["resolutions_written"])
    else:
        first_checked = measure.first_checks(engine)
        written = measure.resolution_events(engine)
    due = {i: started.timestamp() + offset for i, offset in zip(ids, offsets, strict=True)}
    seconds = measure.finish_seconds(engine, started)
    run = measure.figures(
        transfers=len(ids), resolved=resolved, resolutions_written=written, seconds=seconds,
        queries=queries, queries_per_transfer=workload.queries_per_transfer(options.scenario),
        statements=statements_after[0] - statements_before[0],
        transactions=statements_after[1] - statements_before[1],
        cpu_s=float(extra.get("cpu_s", usage.cpu_s)), peak_rss=usage.peak_rss,
        lags=measure.lags(first_checked, due))
    kept = measure.keeping_up(seconds=seconds, last_due_s=offsets[-1]) if options.rate else {}
    return {**run, **kept, **measure.rss_change(usage.series, len(ids)),
            "rss_series": [[at, round(rss / 2**20, 1), done] for at, rss, done in usage.series]}


def _check_running(processes: Processes) -> None:
    """A process that failed stops the run; one that finished its share (the bare limit's)
    may end."""
    for name, process in processes.running:
        if process.poll() not in (None, 0):
            raise RuntimeError(f"{name} stopped (exit {process.returncode}); "
                               f"see {processes.log_dir / (name + '.log')}")


def _progress(console: Console) -> Progress:
    return Progress(TextColumn("{task.description:<22}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=console)


def machine() -> str:
    import platform

    import psutil

    model = platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        model = next((line.split(":", 1)[1].strip() for line in
                      cpuinfo.read_text().splitlines() if line.startswith("model name")), model)
    memory_gb = psutil.virtual_memory().total / 2**30
    return (f"{os.cpu_count()} cores ({model}), {memory_gb:.0f} GB, "
            f"{platform.system()} {platform.release()}, Python {platform.python_version()}")
