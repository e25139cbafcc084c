"""`resolver demo`."""

from __future__ import annotations

import sys

import click
from rich.console import Console

from worker.cli.base import PORT, main


@main.command()
@click.option("--sim-port", default=8099, show_default=True, type=PORT)
@click.option("--admin-port", default=8000, show_default=True, type=PORT)
@click.option("--keep", is_flag=True, help="Leave everything running after the summary.")
def demo(sim_port: int, admin_port: int, keep: bool) -> None:
    """Run the service against the simulator: a few hundred transfers, settled live."""
    from resolver_tools.demo import run

    with_admin = "admin" in main.commands
    sys.exit(run.run(Console(), sim_port, admin_port, keep, with_admin))
