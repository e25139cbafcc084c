"""Four-eyes proposals on the command line: `resolver proposals list|show|approve|reject`.

`resolver resolve` makes a proposal when the amount needs a second operator; these commands
let another operator approve it (never the proposer: `--by` names who acts), or turn it down.
"""

from __future__ import annotations

from datetime import UTC, datetime

import click

from models.proposal import PROPOSAL_STATUSES
from worker.admin import actions, proposals
from worker.admin.formatting import relative, utc
from worker.admin.proposal_schemas import ProposalOut, proposal_out
from worker.cli.admin_commands import _section, _table
from worker.cli.base import current_runtime, emit, main, refuse_on
from worker.domain.refusal import InvalidInput

REFUSALS = (InvalidInput, actions.TransferNotFound, actions.ActionRefused,
            proposals.ProposalNotFound)


@main.group(name="proposals")
def proposal_group() -> None:
    """Manual resolutions waiting for a second operator (four-eyes)."""


@proposal_group.command(name="list")
@click.option("--status", type=click.Choice([*PROPOSAL_STATUSES, "any"]),
              default="open", show_default=True)
@click.option("--limit", type=click.IntRange(1, 500), default=100, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@refuse_on(*REFUSALS)
def list_command(status: str, limit: int, as_json: bool) -> None:
    """Proposals, newest first (open ones by default)."""
    runtime = current_runtime()
    found = [proposal_out(view) for view in proposals.list_proposals(
        runtime.engine, status=None if status == "any" else status, limit=limit)]
    now = datetime.now(UTC)

    def table() -> None:
        if not found:
            click.echo(f"no {'' if status == 'any' else status + ' '}proposal")
            return
        _table(["ID", "STATUS", "OUTCOME", "TRANSFERS", "BY", "EXPIRES / DECIDED", "REASON"],
               [[p.id, p.status, p.outcome + (" @provider" if p.at_provider_amount else ""),
                 len(p.items), p.proposed_by,
                 (f"expires {relative(p.expires_at, now)}" if p.status == "open"
                  else f"{p.status} {relative(p.decided_at, now)}"), p.reason]
                for p in found])

    emit({"items": [p.model_dump(mode="json") for p in found]}, as_json, lambda _: table())


@proposal_group.command(name="show")
@click.argument("proposal_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@refuse_on(*REFUSALS)
def show_command(proposal_id: int, as_json: bool) -> None:
    """A proposal and each of its transfers."""
    runtime = current_runtime()
    shown = proposal_out(proposals.get(runtime.engine, proposal_id))
    emit(shown.model_dump(mode="json"), as_json, lambda _: print_proposal(shown))


@proposal_group.command(name="approve")
@click.argument("proposal_id", type=int)
@click.option("--by", required=True, help="Your name: not the proposer's.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@refuse_on(*REFUSALS)
def approve_command(proposal_id: int, by: str, as_json: bool) -> None:
    """Approve as the second operator: each transfer is resolved now, one at a time."""
    runtime = current_runtime()
    shown = proposal_out(proposals.approve(runtime.engine, proposal_id, actor=by))
    emit(shown.model_dump(mode="json"), as_json, lambda _: print_proposal(shown))


@proposal_group.command(name="reject")
@click.argument("proposal_id", type=int)
@click.option("--by", required=True, help="Your name, for the audit record.")
@click.option("--reason", required=True, help="Why not: kept in each transfer's audit.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@refuse_on(*REFUSALS)
def reject_command(proposal_id: int, by: str, reason: str, as_json: bool) -> None:
    """Turn an open proposal down (the proposer may withdraw their own); nothing moves."""
    runtime = current_runtime()
    shown = proposal_out(proposals.reject(runtime.engine, proposal_id, actor=by, reason=reason))
    emit(shown.model_dump(mode="json"), as_json, lambda _: print_proposal(shown))


def print_proposal(p: ProposalOut) -> None:
    now = datetime.now(UTC)
    facts = [
        ("proposal", f"{p.id}  {p.status}"),
        ("resolve as", p.outcome + (" at the provider's amount" if p.at_provider_amount else "")
         + (" (bulk)" if p.bulk else "")),
        ("proposed", f"{utc(p.created_at)} ({relative(p.created_at, now)}) by {p.proposed_by}"),
        ("reason", p.reason),
        ("expires", f"{utc(p.expires_at)} ({relative(p.expires_at, now)})"),
    ]
    if p.decided_at:
        facts.append(("decided", f"{p.status} {utc(p.decided_at)}"
                                 + (f" by {p.decided_by}" if p.decided_by else "")
                                 + (f": {p.decision_reason}" if p.decision_reason else "")))
    for label, value in facts:
        click.echo(f"{label + ':':<12}{value}")
    _section("transfers", ["TRANSFER", "PROVIDER:TX_ID", "AMOUNT", "PROVIDER AMOUNT", "NOW",
                           "ITEM", "NOTE"],
             [[i.transfer_id, f"{i.provider}:{i.tx_id}", f"{i.amount} {i.currency}",
               f"{i.provider_amount} {i.currency}" if i.provider_amount else "-",
               i.transfer_state, i.state, i.note or ""] for i in p.items])
