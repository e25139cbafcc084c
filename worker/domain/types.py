"""Vocabulary shared by every layer: directions, states, normalized outcomes, a transfer's facts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from worker.domain.refusal import InvalidInput


class Direction(StrEnum):
    DEPOSIT = "deposit"  # operator wallet -> provider game wallet
    WITHDRAW = "withdraw"  # provider game wallet -> operator wallet


class State(StrEnum):
    IN_FLIGHT = "in_flight"
    PENDING = "pending"
    NEEDS_REVIEW = "needs_review"
    SUCCEEDED = "succeeded"
    FAILED = "failed"

    @property
    def is_terminal(self) -> bool:
        return self in (State.SUCCEEDED, State.FAILED)


# Every list of states is built from the enum: the database's check constraint, the filters,
# the metrics and the tables cannot drift from it.
ALL_STATES: tuple[str, ...] = tuple(state.value for state in State)
OPEN_STATES: tuple[str, ...] = tuple(state.value for state in State if not state.is_terminal)
FINAL_STATES: tuple[str, ...] = tuple(state.value for state in State if state.is_terminal)
# The open states a person may act on (bulk actions, review groups): a final one never changes,
# one in flight is its caller's until its deadline.
ACTIONABLE_STATES: tuple[str, ...] = tuple(state for state in OPEN_STATES
                                           if state != State.IN_FLIGHT)


def final_outcome(value: object) -> State:
    """The final state a caller or a person reports (succeeded or failed); anything else is
    refused naming the field `outcome`."""
    if isinstance(value, str) and value in FINAL_STATES:
        return State(value)
    raise InvalidInput("outcome", "must be succeeded or failed")


class Outcome(StrEnum):
    """The normalized answer of one status query: the only thing the polling engine sees."""

    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    PENDING = "PENDING"
    NOT_FOUND = "NOT_FOUND"
    RATE_LIMITED = "RATE_LIMITED"
    AUTH_ERROR = "AUTH_ERROR"
    RETRY = "RETRY"
    MISMATCH = "MISMATCH"


@dataclass(frozen=True)
class TransferRef:
    """What the operator sent to the provider: everything an adapter needs to ask and compare."""

    provider: str
    tx_id: str
    direction: Direction
    player_id: str
    player_ref: str | None
    amount: Decimal
    currency: str
    sent_at: datetime
