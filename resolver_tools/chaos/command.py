"""`resolver chaos`: the chaos drill (see resolver_tools/chaos/)."""

from __future__ import annotations

import sys

import click
from rich.console import Console

from worker.cli.base import main


@main.command()
@click.option("--transfers", default=1000, show_default=True, type=click.IntRange(min=1),
              help="Transfers to register.")
@click.option("--worker-kills", default=4, show_default=True, type=click.IntRange(min=0),
              help="Worker processes to SIGKILL at random moments (about half during intake).")
@click.option("--redis-wipes", default=2, show_default=True, type=click.IntRange(min=0),
              help="Times Redis is killed and started empty (the first during intake).")
@click.option("--pg-restarts", default=1, show_default=True, type=click.IntRange(min=0),
              help="Times PostgreSQL is stopped at once and started again.")
@click.option("--seed", default=1, show_default=True, type=int,
              help="Makes the transfers, scripts and fault moments the same every run.")
@click.option("--timeout", "timeout_s", default=300.0, show_default=True,
              type=click.FloatRange(min=1),
              help="Seconds to wait for the system to settle once the faults stopped.")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as one JSON document.")
@click.option("--keep-dir", is_flag=True, help="Keep the temp dir (logs, data) afterwards.")
def chaos(transfers: int, worker_kills: int, redis_wipes: int, pg_restarts: int, seed: int,
          timeout_s: float, as_json: bool, keep_dir: bool) -> None:
    """Run a whole system of its own under faults and check that nothing went wrong.

    Exit status 0 when every invariant held, 1 on any violation, 2 when the drill could not
    run (a server would not start, a fault could not be caused).
    """
    from resolver_tools.chaos.run import Options, run

    options = Options(transfers=transfers, worker_kills=worker_kills, redis_wipes=redis_wipes,
                      pg_restarts=pg_restarts, seed=seed, timeout_s=timeout_s, as_json=as_json,
                      keep_dir=keep_dir)
    sys.exit(run(Console(), options))
