"""What an admin can do to a transfer: look again now, or settle it by hand.

Each action is one unit of work with the transfer row locked, and leaves an audit record in
the same transaction, so the change and the record of who made it cannot part. A manual
resolution goes through `worker.engine.resolve.resolution.resolve`, the path the engine uses,
so the ledger, the event and the state change are exactly what an automatic resolution would write.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from models import AuditRecord, Transfer
from worker.admin.manual import actor_name, read_resolution, reason_text
from worker.admin.queries import MAX_ID
from worker.domain.types import State
from worker.engine.resolve import events
from worker.engine.resolve.resolution import resolve
from worker.metrics import engine as metrics
from worker.process import logs
from worker.process.db import transaction

log = logs.get(__name__)


class TransferNotFound(LookupError):
    """No transfer has that id (or provider and tx_id)."""

    exit_code = 2


class ActionRefused(Exception):
    """The transfer's state does not allow the action. Nothing was written."""

    exit_code = 2


@dataclass(frozen=True)
class Applied:
    transfer_id: int
    audit_id: int
    from_state: str
    to_state: str


def recheck(engine: Engine, transfer_id: int, *, actor: str, reason: str | None = None,
            now: datetime | None = None, bulk_id: str | None = None) -> Applied:
    """Make a transfer due now. One under review goes back to pending for one more look.

    `bulk_id` ties the audit record to the bulk action it was part of (worker.admin.bulk).
    """
    now = now or datetime.now(UTC)
    actor = actor_name(actor)
    note = reason_text(reason, required=False)
    with transaction(engine) as session:
        transfer = locked(session, transfer_id)
        before = State(transfer.state)
        details: dict[str, object] = {"from_state": before.value}
        if bulk_id is not None:
            details["bulk_id"] = bulk_id
        if before.is_terminal:
            raise ActionRefused(f"transfer {transfer.id} is already {before.value}; "
                                f"a settled transfer is never checked again")
        if before is State.IN_FLIGHT:
            raise ActionRefused(_in_flight_refusal(transfer))
        if transfer.next_check_at is not None:
            details["previous_next_check_at"] = transfer.next_check_at.isoformat()
        if before is State.NEEDS_REVIEW:
            # The admin judged one more look worthwhile; the machine's reason stays on record.
            details["review_reason"] = transfer.review_reason
            transfer.state = State.PENDING
            transfer.review_reason = None
        elif transfer.lease_token is not None:
            # A check may be under way; it loses its lease and its answer is recorded but not
            # applied. The check made now is the one that counts.
            details["dropped_lease"] = True
        transfer.next_check_at = now
        transfer.lease_token = None
        transfer.updated_at = now
        after = State(transfer.state)
        details["to_state"] = after.value
        audit = _audit(session, transfer, actor, "recheck", note, details, now)
        applied = Applied(transfer.id, audit.id, before.value, after.value)
        provider, tx_id = transfer.provider, transfer.tx_id
    log.info("transfer recheck requested", transfer_id=applied.transfer_id, provider=provider,
             tx_id=tx_id, by=f"admin:{actor}", from_state=before.value, state=after.value,
             audit_id=applied.audit_id)  # committed
    return applied


def resolve_by_hand(engine: Engine, transfer_id: int, outcome: str, *, actor: str,
                    reason: str, at_provider_amount: bool = False,
                    expected_provider_amount: Decimal | None = None,
                    now: datetime | None = None) -> Applied:
    """Settle a pending or needs_review transfer as succeeded or failed, with a reason.

    This applies at once: whether a second operator must approve first is the caller's
    question (worker.admin.proposals.request_resolution asks it). `at_provider_amount` settles
    an amount mismatch as succeeded at the amount the provider recorded; with
    `expected_provider_amount`, only if that is still the amount (what the person saw).
    """
    now = now or datetime.now(UTC)
    chosen = read_resolution(outcome=outcome, reason=reason, by=actor,
                             at_provider_amount=at_provider_amount,
                             provider_amount=expected_provider_amount)
    with transaction(engine) as session:
        done = resolve_locked(session, transfer_id, chosen.state, actor=chosen.by,
                              reason=chosen.reason, at_provider_amount=chosen.at_provider_amount,
                              expected_provider_amount=chosen.provider_amount, now=now)
    done.announce()  # committed
    return done.applied


@dataclass(frozen=True)
class Resolved:
    """A manual resolution written in the open transaction; `announce` once it committed."""

    applied: Applied
    provider: str
    tx_id: str
    waited_s: float
    by: str
    details: dict[str, object]

    def announce(self) -> None:
        metrics.count_resolutions(self.provider, "admin",
                                  [(self.applied.to_state, self.waited_s)])
        log.info("transfer resolved", transfer_id=self.applied.transfer_id,
                 provider=self.provider, tx_id=self.tx_id, outcome=self.applied.to_state,
                 by=self.by, source="admin", from_state=self.applied.from_state,
                 audit_id=self.applied.audit_id,
                 provider_amount=self.details.get("provider_amount"),
                 proposal_id=self.details.get("proposal_id"))


def resolve_locked(session: Session, transfer_id: int, target: State, *, actor: str,
                   reason: str, at_provider_amount: bool, now: datetime,
                   expected_provider_amount: Decimal | None = None,
                   proposal: tuple[int, str] | None = None) -> Resolved:
    """The one manual resolution, in the caller's transaction: checks first, then the writes.

    Every refusal is raised before anything is written, so a caller may catch it and write
    something else (an approval records the refusal per transfer). `proposal` is the approved
    proposal's (id, proposer); `actor` is then its approver.
    """
    transfer = locked(session, transfer_id)
    before = check_resolvable(transfer)
    if proposal is None:
        waiting = session.execute(OPEN_PROPOSAL, {"transfer_id": transfer.id}).scalar()
        if waiting is not None:
            raise ActionRefused(f"transfer {transfer.id} has an open proposal ({waiting}) "
                                f"waiting for a second operator; approve or reject that first")
    provider_amount = None
    if at_provider_amount:
        provider_amount = mismatch_amount(session, transfer)
        if expected_provider_amount is not None and provider_amount != expected_provider_amount:
            raise ActionRefused(
                f"transfer {transfer.id}: the provider's amount is now {provider_amount:.4f}, "
                f"not the {expected_provider_amount:.4f} seen when this was asked for; "
                f"look again and ask anew")
    details: dict[str, object] = {"from_state": before.value, "to_state": target.value}
    extra: dict[str, object] = {}
    if provider_amount is not None:
        details.update(amount=f"{transfer.amount:.4f}",
                       provider_amount=f"{provider_amount:.4f}", currency=transfer.currency)
    if proposal is not None:
        details.update(proposal_id=proposal[0], proposed_by=proposal[1], approved_by=actor)
        extra = {"proposal_id": proposal[0], "proposed_by": f"admin:{proposal[1]}"}
    by = f"admin:{actor}"
    resolve(session, transfer, target, by=by, reason=reason, now=now,
            event_type=events.MANUALLY_RESOLVED, provider_amount=provider_amount,
            event_extra=extra)
    if transfer.review_reason:
        details["review_reason"] = transfer.review_reason
    audit = _audit(session, transfer, actor, "resolve", reason, details, now)
    return Resolved(Applied(transfer.id, audit.id, before.value, target.value),
                    transfer.provider, transfer.tx_id,
                    (now - transfer.sent_at).total_seconds(), by, details)


def check_resolvable(transfer: Transfer) -> State:
    before = State(transfer.state)
    if before.is_terminal:
        raise ActionRefused(f"transfer {transfer.id} is already {before.value} "
                            f"(by {transfer.resolved_by}); a settled transfer never changes")
    if before is State.IN_FLIGHT:
        raise ActionRefused(_in_flight_refusal(transfer))
    return before


# A decision already waiting for a second operator is not overtaken by one person alone.
OPEN_PROPOSAL = text(
    "SELECT proposal_id FROM proposal_items WHERE transfer_id = :transfer_id AND state = 'open'"
)


# The latest check whose answer counted: what the transfer's review rests on.
LATEST_APPLIED_CHECK = text(
    """
    SELECT outcome, provider_amount, provider_currency FROM checks
    WHERE transfer_id = :transfer_id AND applied
    ORDER BY id DESC LIMIT 1
    """
)


def mismatch_amount(session: Session, transfer: Transfer) -> Decimal:
    """The amount the provider recorded, when the transfer waits in review because of an
    amount mismatch in the same currency; otherwise a refusal saying which part is missing."""
    where = f"transfer {transfer.id}"
    if transfer.state != State.NEEDS_REVIEW:
        raise ActionRefused(f"{where} is {transfer.state}: only a transfer in needs_review "
                            f"because of an amount mismatch settles at the provider's amount")
    check = session.execute(LATEST_APPLIED_CHECK, {"transfer_id": transfer.id}).one_or_none()
    if check is None or check.outcome != "MISMATCH":
        latest = check.outcome if check is not None else "no check"
        raise ActionRefused(f"{where}: its latest check is {latest}, not a MISMATCH; only an "
                            f"amount mismatch settles at the provider's amount")
    if check.provider_amount is None:
        raise ActionRefused(f"{where}: the provider's record did not state an amount")
    currency = (check.provider_currency or transfer.currency).strip().upper()
    if currency != transfer.currency:
        raise ActionRefused(f"{where}: the provider recorded {check.provider_amount:.4f} "
                            f"{currency}, ours is {transfer.amount:.4f} {transfer.currency}; "
                            f"amounts in different currencies are not settled here")
    if check.provider_amount <= 0:
        raise ActionRefused(f"{where}: the provider recorded {check.provider_amount:.4f}; "
                            f"nothing moved, so it is not a success at that amount")
    if check.provider_amount == transfer.amount:
        raise ActionRefused(f"{where}: the provider's amount equals ours; the mismatch is "
                            f"elsewhere (see the check), so settle it as it is")
    amount: Decimal = check.provider_amount
    return amount


def locked(session: Session, transfer_id: int, *, lock: bool = True) -> Transfer:
    if not 0 < transfer_id <= MAX_ID:  # never ask Postgres about a number BIGINT cannot hold
        raise TransferNotFound(f"no transfer with id {transfer_id}")
    query = select(Transfer).where(Transfer.id == transfer_id)
    transfer = session.execute(
        query.with_for_update() if lock else query
    ).scalar_one_or_none()
    if transfer is None:
        raise TransferNotFound(f"no transfer with id {transfer_id}")
    return transfer


def _in_flight_refusal(transfer: Transfer) -> str:
    deadline = transfer.next_check_at.isoformat() if transfer.next_check_at else "its deadline"
    return (f"transfer {transfer.id} is in flight: its caller reports the outcome until "
            f"{deadline}, then it becomes pending; act on it after that")


def _audit(session: Session, transfer: Transfer, actor: str, action: str, reason: str | None,
           details: dict[str, object], now: datetime) -> AuditRecord:
    record = AuditRecord(transfer_id=transfer.id, actor=actor, action=action, reason=reason,
                         details=details, created_at=now)
    session.add(record)
    session.flush()
    return record
