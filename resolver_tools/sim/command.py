"""`resolver sim`."""

from __future__ import annotations

import click

from resolver_tools.sim.merchants import MerchantError
from worker.cli.base import PORT, Refused, main
from worker.process.config_files import ConfigError


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8099, show_default=True, type=PORT)
@click.option("--merchants", "merchants_file", default=None,
              help="TOML file of the merchants the simulator accepts (providers file format).")
def sim(host: str, port: int, merchants_file: str | None) -> None:
    """Serve the five providers' status APIs, as documented, on one port."""
    from resolver_tools.sim.server import serve

    try:
        serve(host, port, merchants_file)
    except (ConfigError, MerchantError) as exc:
        raise Refused(str(exc)) from None
