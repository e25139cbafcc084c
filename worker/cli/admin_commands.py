"""Admin commands: what is stuck and why, a transfer's whole history, recheck, resolve by hand,
figures, and the admin server."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import click
from sqlalchemy import text
from sqlalchemy.orm import Session

from worker.admin import actions, inputs, queries
from worker.admin.formatting import relative, span, utc
from worker.admin.schemas import (
    ActionResult,
    StatsOut,
    TransferDetail,
    TransferPage,
    action_result,
    stats_out,
    transfer_detail,
    transfer_page,
)
from worker.admin.tokens import TokenConfigError, parse_tokens
from worker.cli import layout
from worker.cli.base import PORT, Refused, current_runtime, emit, main, refuse_on
from worker.domain.refusal import InvalidInput
from worker.process.db import transaction
from worker.process.runtime import Runtime

REFUSALS = (InvalidInput, actions.TransferNotFound, actions.ActionRefused)


def _table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    """Columns as wide as their widest cell; the last one runs free."""
    cells = [[str(cell) for cell in row] for row in rows]
    widths = [max([len(headers[i])] + [len(row[i]) for row in cells])
              for i in range(len(headers))]
    for line in [list(headers), *cells]:
        padded = [cell.ljust(widths[i]) for i, cell in enumerate(line[:-1])] + [line[-1]]
        click.echo("  ".join(padded).rstrip())


def _dump(model: Any) -> Any:
    return model.model_dump(mode="json")


def transfer_ref_options(command: Any) -> Any:
    command = click.option("--tx-id", default=None,
                           help="With --provider: the operator's transaction id.")(command)
    command = click.option("--provider", default=None,
                           help="With --tx-id: the provider instance.")(command)
    return click.argument("ref", required=False)(command)


def _find(runtime: Runtime, ref: str | None, provider: str | None, tx_id: str | None) -> int:
    wanted = inputs.transfer_ref(ref, provider, tx_id)
    if wanted.id is not None:
        return wanted.id
    assert wanted.provider is not None and wanted.tx_id is not None
    with transaction(runtime.engine) as session:
        found = queries.transfer_id_for(session, wanted.provider, wanted.tx_id)
    if found is None:
        raise actions.TransferNotFound(f"no transfer {wanted}")
    return found


@main.command()
@click.option("--provider", default=None,
              help="Only this provider instance (configured, or with transfers on record).")
@click.option("--state", type=click.Choice(queries.OPEN_STATES), default=None,
              help="Only this state (default: every state that is not final).")
@click.option("--older-than", default=None, help="Registered at least this long ago: 10m, 1h.")
@click.option("--cause", default=None, help="Only this cause: auth, max_age, ...")
@click.option("--currency", default=None, help="Only this currency.")
@click.option("--registered-after", default=None,
              help="At or after: ISO 8601 with offset, or a duration ago (2h).")
@click.option("--registered-before", default=None,
              help="Before: ISO 8601 with offset, or a duration ago (2h).")
@click.option("--min-amount", default=None, help="At least this amount.")
@click.option("--max-amount", default=None, help="At most this amount.")
@click.option("--limit", type=click.IntRange(1, queries.MAX_PAGE), default=100,
              show_default=True)
@click.option("--cursor", default=None, help="next_cursor of the page before (with --json).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@refuse_on(*REFUSALS)
def pending(provider: str | None, state: str | None, older_than: str | None,
            cause: str | None, currency: str | None, registered_after: str | None,
            registered_before: str | None, min_amount: str | None, max_amount: str | None,
            limit: int, cursor: str | None, as_json: bool) -> None:
    """Transfers not yet final, oldest first: age, amount, checks, last outcome, next check,
    and under a transfer in review the whole reason why."""
    runtime = current_runtime()
    filters = inputs.transfer_filter(
        (state,) if state else queries.OPEN_STATES, provider=provider,
        older_than_text=older_than, cause_text=cause, currency_text=currency,
        registered_after=registered_after, registered_before=registered_before,
        min_amount=min_amount, max_amount=max_amount)
    after = inputs.cursor(cursor)
    now = datetime.now(UTC)
    with transaction(runtime.engine) as session:
        if provider is not None:
            known_provider(session, runtime, provider)
        page = transfer_page(queries.list_transfers(session, filters, now, limit=limit,
                                                    cursor=after), now)

    def table(page: TransferPage) -> None:
        if not page.items:
            click.echo("nothing is pending")
            return
        lines = layout.table(
            ["ID", "PROVIDER", "TX_ID", "STATE", "AGE", "AMOUNT", "CHECKS", "LAST", "NEXT"],
            [[t.id, t.provider, t.tx_id, t.state, layout.age(t.age_s),
              layout.money(t.amount, t.currency), t.attempts, t.last_outcome or "-",
              _next(t, now)] for t in page.items],
            notes=[f"why: {t.review_reason}" if t.review_reason else None for t in page.items],
        )
        click.echo("\n".join(lines))
        if page.next_cursor:
            click.echo(f"(more: raise --limit, or --json and --cursor {page.next_cursor})",
                       err=True)

    emit(_dump(page), as_json, lambda _: table(page))


# Only when the name is not configured: one probe of the (provider, tx_id) unique index.
PROVIDER_ON_RECORD = text("SELECT 1 FROM transfers WHERE provider = :provider LIMIT 1")


def known_provider(session: Session, runtime: Runtime, provider: str) -> None:
    """Refuse a provider name nobody knows. A name counts when the providers file has it, or
    when transfers of it are on record: an instance taken out of the file may still have
    transfers to settle by hand, and they must stay listable."""
    if provider in runtime.providers or session.execute(PROVIDER_ON_RECORD,
                                                        {"provider": provider}).first():
        return
    raise InvalidInput(
        "provider", f"no instance {provider!r} is configured or has transfers "
                    f"(configured: {', '.join(sorted(runtime.providers)) or 'none'})")


def _next(t: Any, now: datetime) -> str:
    if t.state == "needs_review":
        return "-"
    if t.check_under_way:
        return "under way"
    return layout.until(t.next_check_at, now)


@main.command()
@transfer_ref_options
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@refuse_on(*REFUSALS)
def show(ref: str | None, provider: str | None, tx_id: str | None, as_json: bool) -> None:
    """A transfer, every check, its ledger entries, events and audit records.

    REF is a transfer id or PROVIDER:TX_ID.
    """
    runtime = current_runtime()
    transfer_id = _find(runtime, ref, provider, tx_id)
    now = datetime.now(UTC)
    with transaction(runtime.engine) as session:
        history = queries.history(session, transfer_id, check_limit=None)
    if history is None:
        raise actions.TransferNotFound(f"no transfer with id {transfer_id}")
    detail = transfer_detail(history, now)
    emit(_dump(detail), as_json, lambda _: _print_story(detail, now))


def _print_story(t: TransferDetail, now: datetime) -> None:
    def when(moment: datetime | None) -> str:
        return f"{utc(moment)} ({relative(moment, now)})" if moment else "-"

    facts = [
        ("transfer", f"{t.id}  {t.provider}:{t.tx_id}"),
        ("state", t.state + (f" (by {t.resolved_by}, {when(t.resolved_at)})"
                             if t.resolved_at else "")),
        ("direction", t.direction),
        ("amount", f"{t.amount} {t.currency}"),
        ("player", t.player_id + (f" (at provider: {t.player_ref})" if t.player_ref else "")),
        ("sent", when(t.sent_at)),
        ("registered", f"{when(t.created_at)} by {t.registered_by}"),
        ("checks", f"{t.attempts} counted, {t.not_found_streak} not found in a row"),
    ]
    if t.state in ("pending", "in_flight"):
        label = "deadline" if t.state == "in_flight" else "next check"
        facts.append((label, when(t.next_check_at)
                      + (" (a check is under way)" if t.check_under_way else "")))
    if t.review_reason:
        facts.append(("review reason", t.review_reason))
    if t.last_error:
        facts.append(("last error", t.last_error))
    for c in t.contradictions:
        facts.append(("CONTRADICTED", f"{c.reported_by} reported {c.reported_state} "
                                      f"{when(c.reported_at)}; the {c.final_state} state stands"))
    for label, value in facts:
        click.echo(f"{label + ':':<15}{value}")

    _section(f"checks ({t.checks_total})",
             ["TIME (UTC)", "OUTCOME", "HTTP", "LATENCY", "APPLIED", "ERROR"],
             [[utc(c.checked_at), c.outcome, c.http_status or "-", f"{c.latency_ms} ms",
               "yes" if c.applied else "no", (c.error or "") + (
                   f" (provider's amount {c.provider_amount} {c.provider_currency or ''})"
                   if c.provider_amount else "")] for c in t.checks])
    _section("ledger entries", ["TIME (UTC)", "KIND", "FROM", "TO", "AMOUNT"],
             [[utc(e.created_at), e.kind, e.from_account, e.to_account,
               f"{e.amount} {e.currency}"] for e in t.ledger_entries])
    _section("events", ["SEQ", "TIME (UTC)", "TYPE", "PUBLISHED"],
             [[e.seq, utc(e.created_at), e.type, utc(e.published_at)] for e in t.events])
    _section("audit", ["TIME (UTC)", "ACTOR", "ACTION", "CHANGE", "REASON"],
             [[utc(a.created_at), a.actor, a.action,
               f"{a.details.get('from_state', '')} -> {a.details.get('to_state', '')}",
               a.reason or ""] for a in t.audit])


def _section(title: str, headers: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    click.echo(f"\n{title}")
    if rows:
        _table(headers, rows)
    else:
        click.echo("(none)")


def _print_action(result: ActionResult) -> None:
    t, audit = result.transfer, result.audit
    click.echo(f"transfer {t.id} {audit.details.get('from_state')} -> {t.state} "
               f"({audit.action} by {audit.actor}, audit record {audit.id})")


def _report(runtime: Runtime, applied: actions.Applied, as_json: bool) -> None:
    with transaction(runtime.engine) as session:
        row = queries.transfer(session, applied.transfer_id)
        assert row is not None
        result = action_result(row, queries.audit_record(session, applied.audit_id),
                               datetime.now(UTC))
    emit(_dump(result), as_json, lambda _: _print_action(result))


@main.command()
@transfer_ref_options
@click.option("--by", default="cli", show_default=True, help="Who asks, for the audit record.")
@click.option("--reason", default=None, help="Why, for the audit record (optional).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@refuse_on(*REFUSALS)
def recheck(ref: str | None, provider: str | None, tx_id: str | None, by: str,
            reason: str | None, as_json: bool) -> None:
    """Make a transfer due now (one under review goes back to pending)."""
    runtime = current_runtime()
    applied = actions.recheck(runtime.engine, _find(runtime, ref, provider, tx_id), actor=by,
                              reason=reason)
    _report(runtime, applied, as_json)


@main.command()
@transfer_ref_options
@click.option("--as", "outcome", required=True, type=click.Choice(["succeeded", "failed"]))
@click.option("--reason", required=True, help="Why: kept in the audit record and the event.")
@click.option("--by", required=True, help="Your name, for the audit record.")
@click.option("--at-provider-amount", is_flag=True,
              help="An amount mismatch: succeeded at the amount the provider recorded.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@refuse_on(*REFUSALS)
def resolve(ref: str | None, provider: str | None, tx_id: str | None, outcome: str,
            reason: str, by: str, at_provider_amount: bool, as_json: bool) -> None:
    """Settle a pending or needs_review transfer by hand; a final one is refused.

    At or above the instance's four-eyes limit it becomes a proposal, applied once another
    operator approves it (`resolver proposals approve ID --by NAME`).
    """
    from worker.admin import proposals
    from worker.cli.proposal_commands import print_proposal, proposal_out

    runtime = current_runtime()
    result = proposals.request_resolution(
        runtime.engine, runtime.providers, _find(runtime, ref, provider, tx_id), outcome, actor=by,
        reason=reason, at_provider_amount=at_provider_amount,
        ttl=runtime.settings.proposal_ttl)
    if isinstance(result, proposals.ProposalView):
        shown = proposal_out(result)

        def told(_: object) -> None:
            click.echo(f"proposal {shown.id} created: a second operator must approve it "
                       f"before anything moves (resolver proposals approve {shown.id} --by NAME)")
            print_proposal(shown)

        emit({"proposal": shown.model_dump(mode="json")}, as_json, told)
        return
    _report(runtime, result, as_json)


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def stats(as_json: bool) -> None:
    """Counts by provider and state, the oldest pending, resolutions in the last hour."""
    runtime = current_runtime()
    now = datetime.now(UTC)
    with transaction(runtime.engine) as session:
        figures = stats_out(queries.stats(session, now), now)

    def table(figures: StatsOut) -> None:
        if figures.counts:
            _table(["PROVIDER", "STATE", "COUNT"],
                   [[c.provider, c.state, c.count] for c in figures.counts])
        else:
            click.echo("no transfer yet")
        oldest = figures.oldest_pending
        click.echo("\noldest pending: " + (
            f"{span(oldest.age_s)} (transfer {oldest.id}, {oldest.provider}:{oldest.tx_id})"
            if oldest else "none"))
        click.echo("pending by age: " + ", ".join(
            f"{bucket.label} {bucket.count}" for bucket in figures.pending_by_age))
        done = figures.resolutions_last_hour
        click.echo(f"resolved in the last hour: {done.total} ({done.succeeded} succeeded, "
                   f"{done.failed} failed, {done.by_hand} by hand)")

    emit(_dump(figures), as_json, lambda _: table(figures))


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=PORT, default=8000, show_default=True)
def admin(host: str, port: int) -> None:
    """Serve the admin API and web page (uvicorn)."""
    import uvicorn

    from worker.admin.app import create_app
    from worker.admin.login_guard import proxy_options
    from worker.process import logs

    runtime = current_runtime()
    try:
        tokens = parse_tokens(runtime.settings.admin_token, runtime.settings.admin_tokens)
    except TokenConfigError as exc:
        raise Refused(str(exc)) from None
    if not len(tokens):
        raise Refused("no admin token: set RESOLVER_ADMIN_TOKEN or "
                                   "RESOLVER_ADMIN_TOKENS (name:role:token,...)")
    click.echo(f"admin console on http://{host}:{port}/ ({len(tokens)} token(s))")
    as_json = runtime.settings.log_format == "json"
    log_config = logs.uvicorn_config(logs.secret_source(runtime), as_json=as_json)
    # Behind a reverse proxy, the client's address (what wrong tokens are counted against)
    # comes from X-Forwarded-For, but only when the proxy's own address is a trusted one.
    uvicorn.run(create_app(lambda: runtime, tokens), host=host, port=port, server_header=False,
                log_config=log_config,
                **proxy_options(runtime.settings.admin_forwarded_allow_ips))
