"""Talking to providers by hand: `resolver probe` asks once and touches no database."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import click

from worker.cli.base import emit, main, refuse_on
from worker.domain.money import InvalidMoney, parse_amount, parse_currency
from worker.domain.types import Direction, TransferRef
from worker.process.settings import get_settings
from worker.providers.config import ConfigError, load_providers
from worker.providers.registry import adapter_for


class ProbeRefused(click.ClickException):
    exit_code = 2


@main.command()
@click.option("--provider", required=True, help="Provider instance name.")
@click.option("--tx-id", required=True)
@click.option("--direction", required=True, type=click.Choice(["deposit", "withdraw"]))
@click.option("--player-id", required=True)
@click.option("--player-ref", default=None)
@click.option("--amount", required=True)
@click.option("--currency", required=True)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@refuse_on(ConfigError, InvalidMoney)
def probe(provider: str, tx_id: str, direction: str, player_id: str, player_ref: str | None,
          amount: str, currency: str, as_json: bool) -> None:
    """Ask a provider once about a transfer and show the answer (no database involved).

    Exits 0 whatever the provider answered; non-zero only when the probe could not run.
    """
    instances = load_providers(get_settings().providers_file)
    if provider not in instances:
        raise ProbeRefused(f"unknown provider instance {provider!r} "
                           f"(configured: {', '.join(sorted(instances)) or 'none'})")
    transfer = TransferRef(
        provider=provider,
        tx_id=tx_id,
        direction=Direction(direction),
        player_id=player_id,
        player_ref=player_ref,
        amount=parse_amount(amount),
        currency=parse_currency(currency),
        sent_at=datetime.now(UTC),
    )
    result = adapter_for(instances[provider]).check(transfer)
    report = {
        "provider": provider,
        "kind": instances[provider].kind,
        "outcome": result.outcome.value,
        "detail": result.detail,
        "http_status": result.http_status,
        "latency_ms": result.latency_ms,
        "provider_status": result.provider_status,
        "provider_amount": None if result.provider_amount is None else str(result.provider_amount),
        "provider_currency": result.provider_currency,
        "request": result.request,
        "raw": result.raw,
    }
    emit(report, as_json, _print_report)


def _print_report(report: dict[str, Any]) -> None:
    click.echo(f"outcome        {report['outcome']}")
    if report["detail"]:
        click.echo(f"detail         {report['detail']}")
    click.echo(f"provider says  status={report['provider_status']} "
               f"amount={report['provider_amount']} currency={report['provider_currency']}")
    click.echo(f"http           {report['http_status']} in {report['latency_ms']} ms")
    click.echo(f"asked          {report['request']}")
    click.echo("answer")
    click.echo(report["raw"] or "(empty)")
