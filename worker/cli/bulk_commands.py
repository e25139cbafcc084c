"""`resolver recheck` and `resolve` over a filter: a preview, a confirmation, then each one.

The commands keep their single-transfer form (`resolver recheck 42`, `resolver resolve
P:TX --as failed ...`, defined in admin_commands); given filter options instead of a transfer,
they act on every match. Either way they are one command each, registered here over the
single ones so that both forms share a name and a help page.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import click

from worker.admin import bulk, inputs, queries
from worker.admin.formatting import span
from worker.admin.schemas import money
from worker.cli import admin_commands
from worker.cli.base import current_runtime, main, refuse_on
from worker.domain.refusal import InvalidInput

REFUSALS = admin_commands.REFUSALS
# Filter options and the text of their help; any one of them given selects many transfers.
FILTER_OPTIONS = (
    ("--state", "state", "pending, needs_review (default: both)."),
    ("--cause", "cause", "A cause code, such as auth: resolver review lists them."),
    ("--currency", "currency", "Only this currency."),
    ("--registered-after", "registered_after",
     "Registered at or after: an ISO 8601 time with offset, or a duration ago (2h)."),
    ("--registered-before", "registered_before",
     "Registered before: an ISO 8601 time with offset, or a duration ago (2h)."),
    ("--older-than", "older_than", "Registered at least this long ago: 10m, 1h."),
    ("--min-amount", "min_amount", "At least this amount (plain decimal, such as 100.00)."),
    ("--max-amount", "max_amount", "At most this amount."),
)


def bulk_options(command: Callable[..., Any]) -> Callable[..., Any]:
    command = click.option("--fingerprint", default=None,
                           help="Confirm the preview that printed this fingerprint.")(command)
    command = click.option("--yes", is_flag=True,
                           help="Do not ask (needs --fingerprint: scripts confirm a preview "
                                "they printed before).")(command)
    for name, dest, text in reversed(FILTER_OPTIONS):
        command = click.option(name, dest, default=None, help=text)(command)
    return command


def _filters(provider: str | None, options: dict[str, Any]) -> queries.TransferFilter:
    return inputs.transfer_filter(
        bulk.states(options["state"]), provider=provider,
        older_than_text=options["older_than"], cause_text=options["cause"],
        currency_text=options["currency"], registered_after=options["registered_after"],
        registered_before=options["registered_before"], min_amount=options["min_amount"],
        max_amount=options["max_amount"])


def _is_bulk(ref: str | None, tx_id: str | None, provider: str | None,
             options: dict[str, Any]) -> bool:
    if ref is not None or tx_id is not None:
        chosen = [name for name, dest, _ in FILTER_OPTIONS if options[dest] is not None]
        if chosen or options["yes"] or options["fingerprint"]:
            extra = chosen[0] if chosen else "--yes/--fingerprint"
            raise InvalidInput("ref", f"name one transfer, or select many with filter "
                                      f"options, not both ({extra})")
        return False
    return provider is not None or any(options[dest] is not None
                                       for _, dest, _ in FILTER_OPTIONS)


def _print_preview(found: bulk.Preview) -> None:
    click.echo(f"{found.count} transfer(s) match.")
    if not found.count:
        return
    click.echo("total: " + ", ".join(f"{money(amount)} {currency}"
                                     for currency, amount in found.totals.items()))
    now = datetime.now(UTC)
    admin_commands._table(
        ["ID", "PROVIDER", "TX_ID", "STATE", "AMOUNT", "AGE"],
        [[row["id"], row["provider"], row["tx_id"], row["state"],
          f"{money(row['amount'])} {row['currency']}",
          span((now - row["created_at"]).total_seconds())] for row in found.first])
    if found.count > len(found.first):
        click.echo(f"(and {found.count - len(found.first)} more)")
    click.echo(f"action: {found.description}")
    click.echo(f"fingerprint: {found.fingerprint}")


def _run(provider: str | None, act: bulk.Action, by: str, reason: str | None, as_json: bool,
         options: dict[str, Any]) -> None:
    """Preview, ask (unless --yes with --fingerprint), act, report.

    With --json a script reads the preview as JSON and nothing is done; with --json --yes
    --fingerprint it gets the results as JSON (the API's shapes).
    """
    runtime = current_runtime()
    limit = runtime.settings.bulk_max
    filters = _filters(provider, options)
    if not (reason or "").strip():
        raise InvalidInput("reason", "is required for a bulk action: say why, for the "
                                     "audit records (--reason)")
    if options["yes"] and not options["fingerprint"]:
        raise InvalidInput("fingerprint", "--yes needs --fingerprint: run without --yes "
                                          "first, read the preview, then confirm its "
                                          "fingerprint")
    found = bulk.preview(runtime.engine, filters, act, limit=limit)
    if as_json:
        from worker.admin import bulk_api

        if not options["yes"]:
            shaped = bulk_api.preview_out(found, limit, datetime.now(UTC))
            click.echo(shaped.model_dump_json())
            return
    else:
        _print_preview(found)
    if not found.count:
        click.echo("nothing to do", err=as_json)
        return
    expected = options["fingerprint"] or found.fingerprint
    if not options["yes"]:
        verb = "Recheck" if act.kind == "recheck" else "Propose to resolve"
        if not click.confirm(f"{verb} these {found.count} transfer(s)?", default=False,
                             err=True):
            click.echo("nothing done")
            return
    if act.kind != "recheck":
        run = bulk.confirm(runtime.engine, filters, act, expected, actor=by, reason=reason or "",
                           limit=limit, ttl=runtime.settings.proposal_ttl)
        assert run.proposal is not None
        if as_json:
            from worker.admin import bulk_api

            click.echo(bulk_api.run_out(run).model_dump_json())
            return
        click.echo(f"proposal {run.proposal.id} created for {found.count} transfer(s), "
                   f"expiring {run.proposal.expires_at:%Y-%m-%d %H:%M} UTC: a second operator "
                   f"must approve it (resolver proposals approve {run.proposal.id} --by NAME) "
                   f"before anything moves")
        return
    # On stderr, so that stdout holds only the preview and the results.
    with click.progressbar(length=found.count, label="rechecking", file=sys.stderr) as bar:
        run = bulk.confirm(runtime.engine, filters, act, expected, actor=by, reason=reason or "",
                           limit=limit, progress=lambda _: bar.update(1))
    if as_json:
        from worker.admin import bulk_api

        click.echo(bulk_api.run_out(run).model_dump_json())
        if not run.complete:
            sys.exit(2)
        return
    for result in run.results:
        if result.status != "applied":
            click.echo(f"transfer {result.transfer_id}: {result.status.replace('_', ' ')}: "
                       f"{result.detail}")
    click.echo(f"bulk {run.bulk_id}: {run.count('applied')} rechecked, "
               f"{run.count('refused')} refused, {run.count('not_found')} not found")
    if not run.complete:
        sys.exit(2)


def _single_or_bulk(single: click.Command) -> Callable[[Callable[..., Any]], click.Command]:
    """The command `single` with the filter options added, under the same name."""
    def build(callback: Callable[..., Any]) -> click.Command:
        command = main.command(name=single.name, help=callback.__doc__)(bulk_options(callback))
        command.params = [_adapted(param) for param in single.params] \
            + command.params
        return command
    return build


def _adapted(param: click.Parameter) -> click.Parameter:
    """The single command's options, saying what they mean for many transfers too."""
    if param.name == "outcome":  # `--as` also answers to `--outcome`, the API's word
        return click.Option(["--as", "--outcome", "outcome"], required=True,
                            type=param.type, help="succeeded or failed.")
    if param.name == "provider":
        return click.Option(["--provider"], default=None,
                            help="With --tx-id: the transfer's instance. Without: select "
                                 "this instance's transfers (many).")
    return param


@_single_or_bulk(admin_commands.recheck)
@refuse_on(*REFUSALS)
def recheck(ref: str | None, provider: str | None, tx_id: str | None, by: str,
            reason: str | None, as_json: bool, **options: Any) -> None:
    """Make a transfer due now (one under review goes back to pending).

    REF is a transfer id or PROVIDER:TX_ID. With filter options instead (--provider alone,
    --state, --cause, ...) it rechecks every matching transfer: it prints a preview and its
    fingerprint, asks, then rechecks each (one audit record each) and reports the refusals.
    Exit 2 if any was refused.
    """
    if not _is_bulk(ref, tx_id, provider, options):
        click.get_current_context().invoke(admin_commands.recheck, ref=ref, provider=provider,
                                           tx_id=tx_id, by=by, reason=reason, as_json=as_json)
        return
    _run(provider, bulk.Action("recheck"), by, reason, as_json, options)


@_single_or_bulk(admin_commands.resolve)
@refuse_on(*REFUSALS)
def resolve(ref: str | None, provider: str | None, tx_id: str | None, outcome: str,
            reason: str, by: str, at_provider_amount: bool, as_json: bool,
            **options: Any) -> None:
    """Settle a pending or needs_review transfer by hand; a final one is refused.

    REF is a transfer id or PROVIDER:TX_ID. With filter options instead it previews every
    matching transfer and, once confirmed, proposes to resolve them all: one four-eyes
    proposal for the whole set (--as, or --outcome). --at-provider-amount settles amount
    mismatches as succeeded at the amount each provider recorded.
    """
    if not _is_bulk(ref, tx_id, provider, options):
        click.get_current_context().invoke(admin_commands.resolve, ref=ref, provider=provider,
                                           tx_id=tx_id, outcome=outcome, reason=reason, by=by,
                                           at_provider_amount=at_provider_amount,
                                           as_json=as_json)
        return
    kind = "settle_at_provider_amount" if at_provider_amount else "resolve"
    _run(provider, bulk.action(kind, outcome), by, reason, as_json, options)
