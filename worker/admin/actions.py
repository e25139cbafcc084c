"""What an admin can do to a transfer: look again now, or settle it by hand.

Each action is one unit of work with the transfer row locked, and leaves an audit record in
the same transaction, so the change and the record of who made it cannot part. A manual
resolution goes through `worker.resolution.resolve`, the path the engine uses, so the ledger,
the event and the state change are exactly what an automatic resolution would write.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from models import AuditRecord, Transfer
from worker import events, logs
from worker.admin.inputs import InvalidInput
from worker.admin.queries import MAX_ID
from worker.admin.schemas import MAX_REASON_CHARS
from worker.db import transaction
from worker.domain.types import State
from worker.metrics import engine as metrics
from worker.resolution import resolve

MAX_ACTOR_CHARS = 120  # resolved_by holds "admin:" + the name in 128 characters
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
    actor = _actor(actor)
    note = _reason(reason, required=False)
    with transaction(engine) as session:
        transfer = _locked(session, transfer_id)
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
                    reason: str, now: datetime | None = None) -> Applied:
    """Settle a pending or needs_review transfer as succeeded or failed, with a reason."""
    now = now or datetime.now(UTC)
    actor = _actor(actor)
    why = _reason(reason, required=True)
    assert why is not None
    try:
        target = State(outcome)
    except ValueError:
        target = State.PENDING  # refused just below
    if target not in (State.SUCCEEDED, State.FAILED):
        raise InvalidInput("outcome", "must be succeeded or failed")
    with transaction(engine) as session:
        transfer = _locked(session, transfer_id)
        before = State(transfer.state)
        if before.is_terminal:
            raise ActionRefused(f"transfer {transfer.id} is already {before.value} "
                                f"(by {transfer.resolved_by}); a settled transfer never changes")
        if before is State.IN_FLIGHT:
            raise ActionRefused(_in_flight_refusal(transfer))
        resolve(session, transfer, target, by=f"admin:{actor}", reason=why, now=now,
                event_type=events.MANUALLY_RESOLVED)
        details: dict[str, object] = {"from_state": before.value, "to_state": target.value}
        if transfer.review_reason:
            details["review_reason"] = transfer.review_reason
        audit = _audit(session, transfer, actor, "resolve", why, details, now)
        applied = Applied(transfer.id, audit.id, before.value, target.value)
        provider, waited = transfer.provider, (now - transfer.sent_at).total_seconds()
        tx_id = transfer.tx_id
    metrics.count_resolutions(provider, "admin", [(target.value, waited)])  # committed
    log.info("transfer resolved", transfer_id=applied.transfer_id, provider=provider,
             tx_id=tx_id, outcome=target.value, by=f"admin:{actor}", source="admin",
             from_state=before.value, audit_id=applied.audit_id)
    return applied


def _locked(session: Session, transfer_id: int) -> Transfer:
    if not 0 < transfer_id <= MAX_ID:  # never ask Postgres about a number BIGINT cannot hold
        raise TransferNotFound(f"no transfer with id {transfer_id}")
    transfer = session.execute(
        select(Transfer).where(Transfer.id == transfer_id).with_for_update()
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


def _actor(actor: str) -> str:
    actor = actor.strip()
    if not actor or len(actor) > MAX_ACTOR_CHARS or not actor.isprintable():
        raise InvalidInput("by", f"must be 1 to {MAX_ACTOR_CHARS} printable characters")
    return actor


def _reason(reason: str | None, *, required: bool) -> str | None:
    # Browsers send a text area's line breaks as CRLF.
    text = (reason or "").replace("\r\n", "\n").strip()
    if not text:
        if required:
            raise InvalidInput("reason", "is required: say why, for the audit record")
        return None
    if len(text) > MAX_REASON_CHARS:
        raise InvalidInput("reason", f"is {len(text)} characters long; at most "
                                     f"{MAX_REASON_CHARS} allowed")
    if not all(char.isprintable() or char in "\n\t" for char in text):
        raise InvalidInput("reason", "must not contain control characters")
    return text
