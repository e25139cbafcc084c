"""`resolver bench`: the resolver against naive Celery and the bare limit (resolver_tools.bench)."""

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
# The steady smoke run: 40 transfers due a second for 5 s.
STEADY_SMOKE = {"rate": 40.0, "duration": 5.0}
DRAIN_TRANSFERS = 3000


@main.command()
@click.option("--scenario", type=click.Choice(["drain", "steady", "scale"]), default="drain",
              show_default=True,
              help="drain: N transfers due at once; steady: --rate transfers falling due a "
                   "second for --duration seconds, answered on the first query (lag, keeping "
                   "up, memory over time); scale: sweep claim time as the table grows (10k to "
                   "1M stored, with and without a 300k backlog).")
@click.option("--transfers", type=click.IntRange(1), default=None,
              help=f"drain: how many are due at once  [default: {DRAIN_TRANSFERS}]. Refused "
                   "for steady, whose count is rate x duration.")
@click.option("--rate", type=click.FloatRange(0, min_open=True), default=None,
              help="steady: transfers falling due per second  [default: 200].")
@click.option("--duration", type=click.FloatRange(0, min_open=True), default=None,
              help="steady: seconds over which they fall due  [default: 60]; 500 at rate 200 "
                   "is the 100k-resolution memory run.")
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
              help="A run still open this long after its last transfer fell due fails the "
                   "benchmark.")
@click.option("--smoke", is_flag=True,
              help=f"A quick run that proves the harness works: {SMOKE['transfers']} "
                   f"transfers (steady: {STEADY_SMOKE['rate']:.0f}/s for "
                   f"{STEADY_SMOKE['duration']:.0f} s), one round, 1 process x "
                   f"{SMOKE['threads']} threads.")
def bench(scenario: str, transfers: int | None, rate: float | None, duration: float | None,
          rounds: int, processes: int, threads: int, latency_ms: int, out: Path,
          contenders: str, database: str, redis_db: int, max_seconds: float,
          smoke: bool) -> None:
    """Measure how fast backlogs settle: the resolver, naive Celery and the bare limit."""
    from resolver_tools.bench import report, run
    from resolver_tools.bench.contenders import CONTENDERS, Shape

    names = tuple(name.strip() for name in contenders.split(",") if name.strip())
    unknown = [name for name in names if name not in CONTENDERS]
    if unknown or not names:
        raise click.BadParameter(f"unknown contender(s) {', '.join(unknown) or '(none)'}; "
                                 f"choose from {', '.join(CONTENDERS)}", param_hint="--contenders")
    if scenario == "steady":
        if transfers is not None:
            raise click.BadParameter("steady takes --rate and --duration; its transfers are "
                                     "rate x duration", param_hint="--transfers")
        rate, duration = (rate or 200.0), (duration or 60.0)
        if smoke:
            rate, duration = STEADY_SMOKE["rate"], STEADY_SMOKE["duration"]
        transfers = max(1, round(rate * duration))
    elif rate is not None or duration is not None:
        raise click.BadParameter("only the steady scenario takes them",
                                 param_hint="--rate/--duration")
    transfers = transfers or DRAIN_TRANSFERS
    if smoke:
        rounds, processes, threads = SMOKE["rounds"], SMOKE["processes"], SMOKE["threads"]
        if scenario != "steady":
            transfers = SMOKE["transfers"]
    # Explicitly, as the demo does: a run started in the background may have SIGINT ignored, and
    # SIGTERM must still stop every process the run started.
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    console = Console(stderr=True)
    record = run.bench(console, run.Options(
        scenario=scenario, transfers=transfers, rounds=rounds,
        shape=Shape(processes, threads), latency_ms=latency_ms, out=out, database=database,
        redis_db=redis_db, names=names, max_seconds=max_seconds, rate=rate,
        duration_s=duration))
    paths = report.write(record, out)
    console.print(paths["markdown"].read_text())
    console.print("written: " + ", ".join(str(path) for path in paths.values()))
    json.dump({key: str(path) for key, path in paths.items()}, sys.stdout)
    sys.stdout.write("\n")


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt
