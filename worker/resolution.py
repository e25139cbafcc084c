"""The one path by which a transfer reaches a final state or review.

The engine, the wallet's `complete` call and an admin all come through here, always inside the
caller's transaction and with the transfer row locked, so that the state change, its ledger
postings and its event commit together. The database's constraints (one resolution posting,
one resolution event, terminal rows final) stop a second application even if code slipped.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from models import Transfer
from worker import events, ledger
from worker.domain.types import State

# `resolved_by` of what the engine decides from a provider's answer.
ENGINE_ACTOR = "engine"


class NotResolvable(Exception):
    """The transfer is already final, or not in a state this actor may resolve."""


def resolve(session: Session, transfer: Transfer, state: State, *, by: str, reason: str,
            now: datetime, event_type: str = events.RESOLVED) -> None:
    if state not in (State.SUCCEEDED, State.FAILED):
        raise ValueError(f"a resolution is succeeded or failed, not {state}")
    current = State(transfer.state)
    if current.is_terminal:
        raise NotResolvable(f"transfer {transfer.id} is already {current}")
    transfer.state = state
    transfer.resolved_at = now
    transfer.resolved_by = by
    transfer.next_check_at = None
    transfer.lease_token = None
    transfer.updated_at = now
    ledger.post_resolution(session, transfer, state)
    events.record_event(session, event_type, transfer, state.value, reason, now)
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
