"""`resolver health`: a container's health check, and an operator's first look.

Builds only a database engine and a Redis client from the settings: no providers file, no
provider secrets, so the same command serves the worker, beat and admin containers.
"""

from __future__ import annotations

import sys

import click

from worker.cli.base import emit, main
from worker.process import health
from worker.process.settings import get_settings


@main.command("health")
@click.option("--role", type=click.Choice(sorted(health.ROLES)), default="all", show_default=True,
              help="What to require: worker (Postgres, Redis), beat (Redis, sweep age, outbox "
                   "backlog), admin (Postgres, Redis), all (everything).")
@click.option("--sweep-max-age", type=click.FloatRange(min=0, min_open=True),
              default=health.SWEEP_MAX_AGE_S, show_default=True,
              help="Seconds since the last sweep beyond which it is unhealthy.")
@click.option("--outbox-max-age", type=click.FloatRange(min=0, min_open=True),
              default=health.OUTBOX_MAX_AGE_S, show_default=True,
              help="Seconds the oldest unpublished event may wait before it is unhealthy.")
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), default=3.0,
              show_default=True, help="Seconds to wait for Postgres or Redis to answer.")
@click.option("--json", "as_json", is_flag=True)
def health_command(role: str, sweep_max_age: float, outbox_max_age: float, timeout: float,
                   as_json: bool) -> None:
    """Check Postgres, Redis, the sweep's age and the outbox backlog; exit 0 healthy, 1 not."""
    settings = get_settings()
    engine = health.probe_engine(settings, timeout)
    client = health.probe_redis(settings, timeout)
    try:
        report = health.run(engine, client, role, sweep_max_age_s=sweep_max_age,
                            outbox_max_age_s=outbox_max_age)
    finally:
        engine.dispose()
        client.close()
    emit(report.as_dict(), as_json,
         lambda _: click.echo("\n".join(health.describe(report))))
    sys.exit(0 if report.healthy else 1)
