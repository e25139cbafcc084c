"""Operating the service: migrate the database, list provider instances."""

from __future__ import annotations

import click

from worker.cli.base import current_runtime, emit, main
from worker.process import migrate as migrations
from worker.process.settings import get_settings


@main.command()
def migrate() -> None:
    """Create the database if needed and apply every migration."""
    url = get_settings().database_url
    try:
        folder = migrations.migrations_folder()
    except FileNotFoundError as exc:
        raise click.ClickException(str(exc)) from None
    if migrations.ensure_database(url):
        click.echo("created the database")
    migrations.upgrade(url)
    click.echo(f"database schema is up to date ({folder})")


@main.command()
@click.option("--json", "as_json", is_flag=True)
def providers(as_json: bool) -> None:
    """List the configured provider instances (secrets masked)."""
    described = [instance.describe() for instance in current_runtime().providers.values()]

    def table(rows: list[dict[str, object]]) -> None:
        for row in rows:
            credentials = ", ".join(f"{k}={v}" for k, v in dict(row["credentials"]).items())  # type: ignore[call-overload]
            unset = ", ".join(row["unset_variables"])  # type: ignore[arg-type]
            click.echo(f"{row['name']:<20} {row['kind']:<9} {row['base_url']}  {credentials}"
                       + (f"  (unset: {unset})" if unset else ""))

    emit(described, as_json, table)
