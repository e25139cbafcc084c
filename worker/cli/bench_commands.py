"""`resolver bench`: the resolver against naive Celery and the bare limit (worker.bench)."""

from __future__ import annotations

import json
import signal
import sys
from pathlib import Path
from types import FrameType

import click
from rich.console import Console

from worker.cli.base import main

SMOKE = {"transfers": 150, "rounds": 1, "processes": 1, "threads": 8}


@main.command()
@click.option("--scenario", type=click.Choice(["drain", "steady", "scale"]), default="drain",
              show_default=True,
              help="drain: N transfers due at once; scale: sweep claim time as the table "
                   "grows (10k to 1M stored, with and without a 300k backlog). Steady is not "
                   "built yet.")
@click.option("--transfers", type=click.IntRange(1), default=3000, show_default=True)
@click.option("--rounds", type=click.IntRange(1), default=3, show_default=True,
              help="Each round runs every contender once, in a turning order.")
@click.option("--processes", type=click.IntRange(1), default=1, show_default=True,
              help="Worker processes per contender.")
@click.option("--threads", type=click.IntRange(1), default=16, show_default=True,
              help="Threads per worker process.")
@click.option("--latency-ms", type=click.IntRange(0), default=20, show_default=True,
              help="The simulator's delay before each answer.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path(".bench"),
              show_default=True, help="Where bench.json, bench.md and bench.png go.")
@click.option("--contenders", default="resolver,naive,bare", show_default=True,
              help="Which to run, comma-separated.")
@click.option("--database", default="resolver_benchmark", show_default=True,
              help="The benchmark's own database, made anew on this server.")
@click.option("--redis-db", type=click.IntRange(0), default=11, show_default=True,
              help="The benchmark's own Redis database, emptied before every run.")
@click.option("--max-seconds", type=click.FloatRange(1), default=600, show_default=True,
              help="A run still open after this fails the benchmark.")
@click.option("--smoke", is_flag=True,
              help=f"A quick run that proves the harness works: {SMOKE['transfers']} "
                   f"transfers, one round, 1 process x {SMOKE['threads']} threads.")
def bench(scenario: str, transfers: int, rounds: int, processes: int, threads: int,
          latency_ms: int, out: Path, contenders: str, database: str, redis_db: int,
          max_seconds: float, smoke: bool) -> None:
    """Measure how fast backlogs settle: the resolver, naive Celery and the bare limit."""
    from worker.bench import report, run
    from worker.bench.contenders import CONTENDERS, Shape

    names = tuple(name.strip() for name in contenders.split(",") if name.strip())
    unknown = [name for name in names if name not in CONTENDERS]
    if unknown or not names:
        raise click.BadParameter(f"unknown contender(s) {', '.join(unknown) or '(none)'}; "
                                 f"choose from {', '.join(CONTENDERS)}", param_hint="--contenders")
    if scenario == "steady":
        raise click.BadParameter("steady is not built yet; drain and scale run",
                                 param_hint="--scenario")
    if smoke:
        transfers, rounds = SMOKE["transfers"], SMOKE["rounds"]
        processes, threads = SMOKE["processes"], SMOKE["threads"]
    # Explicitly, as the demo does: a run started in the background may have SIGINT ignored, and
    # SIGTERM must still stop every process the run started.
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    console = Console(stderr=True)
    record = run.bench(console, run.Options(
        scenario=scenario, transfers=transfers, rounds=rounds,
        shape=Shape(processes, threads), latency_ms=latency_ms, out=out, database=database,
        redis_db=redis_db, names=names, max_seconds=max_seconds))
    paths = report.write(record, out)
    console.print(paths["markdown"].read_text())
    console.print("written: " + ", ".join(str(path) for path in paths.values()))
    json.dump({key: str(path) for key, path in paths.items()}, sys.stdout)
    sys.stdout.write("\n")


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt
