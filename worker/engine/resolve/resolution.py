"""The one path by which a transfer reaches a final state or review.

The engine, the wallet's `complete` call and an admin all come through here, always inside the
caller's transaction and with the transfer row locked, so that the state change, its ledger
postings and its event commit together. The database's constraints (one resolution posting,
one resolution event, terminal rows final) stop a second application even if code slipped.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from models import AuditRecord, Transfer
from worker.domain.types import State
from worker.engine.resolve import events, ledger

# `resolved_by` of what the engine decides from a provider's answer.
ENGINE_ACTOR = "engine"


class NotResolvable(Exception):
    """The transfer is already final, or not in a state this actor may resolve."""


def resolve(session: Session, transfer: Transfer, state: State, *, by: str, reason: str,
            now: datetime, event_type: str = events.RESOLVED,
            provider_amount: Decimal | None = None,
            event_extra: dict[str, Any] | None = None) -> None:
    """Make `transfer` final: state, ledger postings and event, in the caller's transaction.

    `provider_amount` settles a succeeded transfer at the amount the provider recorded (an
    admin's decision on an amount mismatch); the event then carries both amounts.
    """
    if state not in (State.SUCCEEDED, State.FAILED):
        raise ValueError(f"a resolution is succeeded or failed, not {state}")
    current = State(transfer.state)
    if current.is_terminal:
        raise NotResolvable(f"transfer {transfer.id} is already {current}")
    if provider_amount is not None and state is not State.SUCCEEDED:
        raise ValueError("only a succeeded transfer settles at the provider's amount")
    transfer.state = state
    transfer.resolved_at = now
    transfer.resolved_by = by
    transfer.next_check_at = None
    transfer.lease_token = None
    transfer.updated_at = now
    ledger.post_resolution(session, transfer, state, provider_amount)
    extra = dict(event_extra or {})
    if provider_amount is not None:
        extra["provider_amount"] = f"{provider_amount:.4f}"
    events.record_event(session, event_type, transfer, state.value, reason, now,
                        extra=extra or None)
    session.flush()


def send_to_review(session: Session, transfer: Transfer, *, reason: str, by: str,
                   now: datetime) -> None:
    if State(transfer.state) is not State.PENDING:
        raise NotResolvable(f"transfer {transfer.id} is {transfer.state}, not pending")
    transfer.state = State.NEEDS_REVIEW
    transfer.review_reason = reason
    transfer.next_check_at = None
    transfer.lease_token = None
    transfer.updated_at = now
    events.record_event(session, events.NEEDS_REVIEW, transfer, State.NEEDS_REVIEW.value,
                        reason, now)
    session.flush()


# One row per transfer and reported outcome: a caller repeating itself is one contradiction.
INSERT_CONTRADICTION = text(
    """
    INSERT INTO contradictions (transfer_id, final_state, reported_state, reported_by,
                                reported_at)
    VALUES (:transfer_id, :final_state, :reported_state, :reported_by, :now)
    ON CONFLICT (transfer_id, reported_state) DO NOTHING
    RETURNING id
    """
)


def record_contradiction(session: Session, transfer: Transfer, reported: State, *, by: str,
                         now: datetime) -> bool:
    """A caller's clear answer disagrees with the transfer's final state: keep it, say it.

    The final state stays as it is (it was decided on the provider's word or by a person); the
    disagreement is recorded beside the transfer with an audit record and announced as a
    `transfer.contradicted` event, for a person to look into. Returns whether this call
    recorded it (False when the same contradiction was already on record).
    """
    final = State(transfer.state)
    if not final.is_terminal or final is reported:
        raise ValueError(f"transfer {transfer.id} is {final}: {reported} does not contradict it")
    inserted = session.execute(INSERT_CONTRADICTION, {
        "transfer_id": transfer.id, "final_state": final.value,
        "reported_state": reported.value, "reported_by": by, "now": now,
    }).scalar_one_or_none()
    if inserted is None:
        return False
    reason = (f"{by} reported {reported.value}, but the transfer was already {final.value} "
              f"({transfer.resolved_by}); the final state stands until a person looks into it")
    session.add(AuditRecord(transfer_id=transfer.id, actor=by, action="contradicted",
                            reason=reason, details={"final_state": final.value,
                                                    "reported_state": reported.value},
                            created_at=now))
    events.record_event(session, events.CONTRADICTED, transfer, final.value, reason, now,
                        extra={"reported_outcome": reported.value, "reported_by": by})
    return True
