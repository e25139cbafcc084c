"""`resolver demo` and `resolver sim`."""

from __future__ import annotations

import sys

import click
from rich.console import Console

from worker.cli.base import Refused, main
from worker.config_files import ConfigError
from worker.sim.merchants import MerchantError

PORT = click.IntRange(1, 65535)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8099, show_default=True, type=PORT)
@click.option("--merchants", "merchants_file", default=None,
              help="TOML file of the merchants the simulator accepts (providers file format).")
def sim(host: str, port: int, merchants_file: str | None) -> None:
    """Serve the five providers' status APIs, as documented, on one port."""
    from worker.sim.server import serve

    try:
        serve(host, port, merchants_file)
    except (ConfigError, MerchantError) as exc:
        raise Refused(str(exc)) from None


@main.command()
@click.option("--sim-port", default=8099, show_default=True, type=PORT)
@click.option("--admin-port", default=8000, show_default=True, type=PORT)
@click.option("--keep", is_flag=True, help="Leave everything running after the summary.")
def demo(sim_port: int, admin_port: int, keep: bool) -> None:
    """Run the service against the simulator: a few hundred transfers, settled live."""
    from worker.demo import run

    with_admin = "admin" in main.commands
    sys.exit(run.run(Console(), sim_port, admin_port, keep, with_admin))
