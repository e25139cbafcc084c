"""Intake on the command line: enqueue, begin, complete."""

from __future__ import annotations

from typing import Any

import click

from worker.cli.base import current_runtime, emit, main, refuse_on
from worker.domain.refusal import InvalidInput
from worker.engine.intake import service
from worker.engine.intake.registration import ConflictError
from worker.engine.resolve.resolution import NotResolvable


def transfer_options(command: Any) -> Any:
    options = [
        click.option("--provider", required=True, help="Provider instance name."),
        click.option("--tx-id", required=True, help="The transaction id the operator sent."),
        click.option("--direction", required=True, type=click.Choice(["deposit", "withdraw"])),
        click.option("--player-id", required=True, help="The player's id in the operator wallet."),
        click.option("--player-ref", default=None, help="The player's reference at the provider."),
        click.option("--amount", required=True,
                     help="Plain decimal amount, e.g. 10.00: ASCII digits, at most 4 decimals."),
        click.option("--currency", required=True, help="Currency code, e.g. USD."),
        click.option("--sent-at", default=None, help="ISO 8601 time the call was sent."),
        click.option("--json", "as_json", is_flag=True, help="Print one JSON object."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _payload(**fields: Any) -> dict[str, Any]:
    return {key: value for key, value in fields.items() if value is not None}


def _print_summary(result: dict[str, Any]) -> None:
    click.echo(result["id"])


@main.command()
@transfer_options
@click.option("--by", default="cli", show_default=True, help="Who registers it.")
@refuse_on(InvalidInput, ConflictError)
def enqueue(as_json: bool, by: str, **fields: Any) -> None:
    """Register a transfer whose call timed out; prints its id."""
    result = service.register(current_runtime(), _payload(**fields), by=by)
    emit(result, as_json, _print_summary)


@main.command()
@transfer_options
@click.option("--deadline", "deadline_s", type=float, default=None,
              help="Seconds until it becomes pending if nothing is reported: more than 0, at "
                   "most RESOLVER_MAX_IN_FLIGHT_DEADLINE_S (default 3600). Default: the "
                   "instance's in_flight_deadline, held to that maximum.")
@click.option("--by", default="cli", show_default=True, help="Who registers it.")
@refuse_on(InvalidInput, ConflictError)
def begin(as_json: bool, by: str, deadline_s: float | None, **fields: Any) -> None:
    """Write-ahead: record a transfer before the provider is called; prints its id."""
    result = service.begin(current_runtime(), _payload(**fields), by=by, deadline_s=deadline_s)
    emit(result, as_json, _print_summary)


@main.command()
@click.option("--provider", required=True)
@click.option("--tx-id", required=True)
@click.option("--as", "outcome", required=True, type=click.Choice(["succeeded", "failed"]))
@click.option("--by", default="cli", show_default=True)
@click.option("--json", "as_json", is_flag=True)
@refuse_on(InvalidInput, ConflictError, NotResolvable)
def complete(provider: str, tx_id: str, outcome: str, by: str, as_json: bool) -> None:
    """Report the provider's clear answer for a transfer begun in write-ahead mode."""
    result = service.complete(current_runtime(), provider, tx_id, outcome, by=by)
    emit(result, as_json, lambda r: click.echo(f"{r['id']} {r['state']}"))
