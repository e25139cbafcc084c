"""Intake: the operator's wallet hands over transfers whose outcome it does not know.

Two ways in, both idempotent on (provider, tx_id):
- `register`: the call timed out or ended unclear; the transfer is pending and will be polled.
- write-ahead: `begin` before calling the provider (in flight, with a deadline), then `complete`
  with the provider's clear answer, or `register` if it timed out. A transfer whose deadline
  passes with neither becomes pending by itself (see `worker.sweep.expire_in_flight`).
Validation happens before anything is written; a refused request writes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from models import Transfer
from worker import ledger
from worker.domain.money import InvalidMoney, parse_amount, parse_currency
from worker.domain.policy import first_check_at
from worker.domain.types import Direction, State, TransferRef
from worker.providers.instance import ProviderInstance
from worker.resolution import NotResolvable, record_contradiction, resolve

MAX_LENGTHS = {"tx_id": 128, "player_id": 128, "player_ref": 256, "by": 128}
# A wallet's clock may run a little ahead of ours; a sent_at further ahead is a mistake.
CLOCK_SLACK = timedelta(minutes=5)
# A transfer sent longer ago than this is a typing mistake, not a timeout to settle.
OLDEST_SENT_AT = timedelta(days=365)


class IntakeError(ValueError):
    """The request is invalid; `field` names what is wrong. Nothing was written."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class ConflictError(ValueError):
    """The tx_id is already registered for this provider with other facts. Nothing was written."""


class Contradicted(ConflictError):
    """The caller's clear answer disagrees with the transfer's final state.

    Unlike other refusals this one is written down (see `resolution.record_contradiction`):
    raised by the handler after the record has committed, so the caller hears of the conflict.
    """

    field = "outcome"


def differences(request: TransferRef, transfer: Transfer) -> list[str]:
    """The facts of a request that disagree with the transfer registered under its tx_id."""
    compared = ["direction", "amount", "currency", "player_id"]
    if request.player_ref is not None:  # left out by the caller: nothing to compare
        compared.append("player_ref")
    return [
        f"{field} {getattr(request, field)} differs from registered {getattr(transfer, field)}"
        for field in compared
        if getattr(request, field) != getattr(transfer, field)
    ]


def parse_request(
    raw: Mapping[str, Any], providers: Mapping[str, ProviderInstance], now: datetime
) -> TransferRef:
    """Check every field of a request; raise IntakeError naming the first that is wrong."""
    known = {"provider", "tx_id", "direction", "player_id", "player_ref", "amount", "currency",
             "sent_at"}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise IntakeError(unknown[0], "unknown field")

    provider = _text(raw, "provider", 64)
    if provider not in providers:
        configured = ", ".join(sorted(providers)) or "none"
        raise IntakeError("provider", f"unknown provider instance {provider!r} "
                                      f"(configured: {configured})")
    direction_raw = _text(raw, "direction", 16)
    try:
        direction = Direction(direction_raw.lower())
    except ValueError:
        raise IntakeError("direction", "must be deposit or withdraw") from None
    try:
        amount = parse_amount(_required(raw, "amount"))
        currency = parse_currency(_required(raw, "currency"))
    except InvalidMoney as exc:
        field = "currency" if str(exc).startswith("currency") else "amount"
        raise IntakeError(field, str(exc).removeprefix(field + " ")) from None
    return TransferRef(
        provider=provider,
        tx_id=_text(raw, "tx_id", MAX_LENGTHS["tx_id"]),
        direction=direction,
        player_id=_text(raw, "player_id", MAX_LENGTHS["player_id"]),
        player_ref=_text(raw, "player_ref", MAX_LENGTHS["player_ref"], optional=True) or None,
        amount=amount,
        currency=currency,
        sent_at=_sent_at(raw.get("sent_at"), now),
    )


def register(session: Session, request: TransferRef, instance: ProviderInstance, *,
             by: str, now: datetime) -> tuple[Transfer, bool]:
    """A timed-out transfer: pending, first check after the instance's initial delay.

    Returns the transfer and whether this call created it. Registering a transfer that is in
    flight reports its timeout: it becomes pending at once.
    """
    transfer, created = _insert_once(session, request, State.PENDING,
                                     first_check_at(now, instance.policy), by)
    if not created and transfer.state == State.IN_FLIGHT:
        transfer.state = State.PENDING
        transfer.next_check_at = first_check_at(now, instance.policy)
        transfer.updated_at = now
        session.flush()
    return transfer, created


def begin(session: Session, request: TransferRef, instance: ProviderInstance, *,
          by: str, now: datetime, deadline: datetime | None = None) -> tuple[Transfer, bool]:
    """Write-ahead: record the transfer (and the deposit's hold) before the provider is called."""
    deadline = deadline or now + instance.policy.in_flight_deadline
    if deadline <= now:
        raise IntakeError("deadline", "must be in the future")
    return _insert_once(session, request, State.IN_FLIGHT, deadline, by)


@dataclass(frozen=True)
class Completion:
    transfer: Transfer
    # The answer disagreed with the transfer's final state: recorded, the state unchanged.
    contradicted: bool = False


def complete(session: Session, provider: str, tx_id: str, outcome: str, *, by: str,
             now: datetime) -> Completion:
    """The caller learned the provider's clear answer; resolve through the engine's path.

    An answer that disagrees with a final state changes nothing but is recorded as a
    contradiction; a transfer in review is left to the admins (NotResolvable).
    """
    try:
        state = State(outcome.lower())
    except ValueError:
        raise IntakeError("outcome", "must be succeeded or failed") from None
    if state not in (State.SUCCEEDED, State.FAILED):
        raise IntakeError("outcome", "must be succeeded or failed")
    transfer = session.execute(
        select(Transfer).where(Transfer.provider == provider, Transfer.tx_id == tx_id)
        .with_for_update()
    ).scalar_one_or_none()
    if transfer is None:
        raise IntakeError("tx_id", f"no transfer {tx_id!r} registered for provider {provider!r}")
    if transfer.state == state:
        return Completion(transfer)  # the same answer twice: nothing more to do
    if State(transfer.state).is_terminal:
        record_contradiction(session, transfer, state, by=by, now=now)
        return Completion(transfer, contradicted=True)
    if transfer.state not in (State.IN_FLIGHT, State.PENDING):
        raise NotResolvable(f"transfer {transfer.id} is {transfer.state}; an admin decides it, "
                            f"complete cannot change it")
    resolve(session, transfer, state, by=by, reason=f"reported {state.value} by {by}", now=now)
    return Completion(transfer)


_INSERT = text(
    """
    INSERT INTO transfers (provider, direction, tx_id, player_id, player_ref, amount, currency,
                           sent_at, state, next_check_at, registered_by)
    VALUES (:provider, :direction, :tx_id, :player_id, :player_ref, :amount, :currency,
            :sent_at, :state, :next_check_at, :registered_by)
    ON CONFLICT (provider, tx_id) DO NOTHING
    RETURNING id
    """
)


def _insert_once(session: Session, request: TransferRef, state: State,
                 next_check_at: datetime, by: str) -> tuple[Transfer, bool]:
    inserted = session.execute(_INSERT, {
        "provider": request.provider,
        "direction": request.direction.value,
        "tx_id": request.tx_id,
        "player_id": request.player_id,
        "player_ref": request.player_ref,
        "amount": request.amount,
        "currency": request.currency,
        "sent_at": request.sent_at,
        "state": state.value,
        "next_check_at": next_check_at,
        "registered_by": by,
    }).scalar_one_or_none()
    if inserted is not None:
        transfer = session.get_one(Transfer, inserted)
        ledger.post_registration(session, transfer)
        session.flush()
        return transfer, True
    transfer = session.execute(
        select(Transfer).where(Transfer.provider == request.provider,
                               Transfer.tx_id == request.tx_id)
        .with_for_update()
    ).scalar_one()
    disagreements = differences(request, transfer)
    if disagreements:
        raise ConflictError(
            f"tx_id {request.tx_id!r} is already registered for provider {request.provider!r} "
            f"as transfer {transfer.id} with other facts: " + "; ".join(disagreements)
        )
    return transfer, False


def _required(raw: Mapping[str, Any], field: str) -> Any:
    value = raw.get(field)
    if value is None or (isinstance(value, str) and not value.strip()):
        raise IntakeError(field, "is required")
    return value


def _text(raw: Mapping[str, Any], field: str, limit: int, optional: bool = False) -> str:
    value = raw.get(field)
    if optional and (value is None or value == ""):
        return ""
    value = _required(raw, field)
    if not isinstance(value, str):
        raise IntakeError(field, f"must be a string, not {type(value).__name__}")
    value = value.strip()
    if len(value) > limit:
        raise IntakeError(field, f"is {len(value)} characters long; at most {limit} allowed")
    if not value.isprintable():
        raise IntakeError(field, "must not contain control characters")
    return value


def _sent_at(value: Any, now: datetime) -> datetime:
    if value is None or value == "":
        return now
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise IntakeError("sent_at", f"{value!r} is not an ISO 8601 time") from None
    else:
        raise IntakeError("sent_at", "must be an ISO 8601 string")
    if parsed.tzinfo is None:
        raise IntakeError("sent_at", "must carry a time zone, such as 2026-01-31T12:00:00Z")
    try:
        parsed = parsed.astimezone(UTC)
    except OverflowError:
        raise IntakeError("sent_at", f"{value!r} is out of range") from None
    if parsed > now + CLOCK_SLACK:
        raise IntakeError("sent_at", f"{parsed.isoformat()} is in the future")
    if parsed < now - OLDEST_SENT_AT:
        raise IntakeError("sent_at", f"{parsed.isoformat()} is more than a year ago")
    return parsed
