"""Intake: the operator's wallet hands over transfers whose outcome it does not know.

Two ways in, both idempotent on (provider, tx_id):
- `register`: the call timed out or ended unclear; the transfer is pending and will be polled.
- write-ahead: `begin` before calling the provider (in flight, with a deadline), then `complete`
  with the provider's clear answer, or `register` if it timed out. A transfer whose deadline
  passes with neither becomes pending by itself (see `worker.engine.sweep.due.expire_in_flight`).
Validation happens before anything is written; a refused request writes nothing. The one
exception is a `complete` that contradicts a final state: it is recorded, then refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from models import Transfer
from worker.domain.money import describe_type
from worker.domain.policy import first_check_at
from worker.domain.refusal import InvalidInput
from worker.domain.types import State, TransferRef, final_outcome
from worker.engine.intake.request import parse, text_field
from worker.engine.resolve import ledger
from worker.engine.resolve.resolution import NotResolvable, record_contradiction, resolve
from worker.providers.instance import ProviderInstance


class ConflictError(ValueError):
    """The tx_id is already registered for this provider with other facts. Nothing was written.

    `field` names the first fact that differs (None where no one field is to blame);
    `transfer_id` the transfer already registered, for the log.
    """

    def __init__(self, message: str, field: str | None = None,
                 transfer_id: int | None = None) -> None:
        super().__init__(message)
        self.field = field
        self.transfer_id = transfer_id


@dataclass(frozen=True)
class Report:
    """A caller's report of the provider's clear answer (`complete`), checked."""

    provider: str
    tx_id: str
    state: State


class Contradicted(ConflictError):
    """The caller's clear answer disagrees with the transfer's final state.

    Unlike other refusals this one is written down (see `resolution.record_contradiction`):
    raised by the handler after the record has committed, so the caller hears of the conflict.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message, field="outcome")


def differences(request: TransferRef, transfer: Transfer) -> dict[str, str]:
    """The facts of a request that disagree with the transfer registered under its tx_id,
    each field with what differs, in a fixed order."""
    compared = ["direction", "amount", "currency", "player_id"]
    if request.player_ref is not None:  # left out by the caller: nothing to compare
        compared.append("player_ref")
    return {
        field: f"{field} {getattr(request, field)} differs from registered "
               f"{getattr(transfer, field)}"
        for field in compared
        if getattr(request, field) != getattr(transfer, field)
    }


def parse_request(raw: object, providers: Mapping[str, ProviderInstance],
                  now: datetime) -> TransferRef:
    """Check every field of a request (the `Registration` model); raise InvalidInput naming
    the first that is wrong.

    This is the one reading of a transfer handed over, whichever way it came in (a Python
    call, a Celery message, the HTTP API, the command line).
    """
    return parse(raw, providers, now).transfer_ref()


def parse_completion(provider: object, tx_id: object, outcome: object) -> Report:
    """The fields of a `complete` call, by the same rules as a request's."""
    checked_provider = text_field("provider", provider)
    checked_tx_id = text_field("tx_id", tx_id)
    answer = final_outcome(text_field("outcome", outcome).lower())
    return Report(checked_provider, checked_tx_id, answer)


def actor(by: object) -> str:
    """Who hands a transfer over (`by`), as it is recorded with the transfer."""
    return text_field("by", by)


def in_flight_deadline(deadline_s: object, instance: ProviderInstance, maximum_s: float,
                       now: datetime) -> datetime:
    """When a write-ahead transfer becomes pending if nobody reports on it.

    `deadline_s` seconds from now, a number in (0, maximum_s]; None means the instance's
    in_flight_deadline, held to the maximum (a providers file cannot lift the process's
    bound). A transfer in flight is out of the admins' hands, so the bound is hard.
    """
    if deadline_s is None:
        return now + min(instance.policy.in_flight_deadline, timedelta(seconds=maximum_s))
    if isinstance(deadline_s, bool) or not isinstance(deadline_s, int | float):
        raise InvalidInput("deadline", f"must be a number of seconds, not "
                                      f"{describe_type(deadline_s)}")
    # Written so that NaN fails too: every comparison with NaN is false.
    if not 0 < deadline_s <= maximum_s:
        raise InvalidInput("deadline", f"must be more than 0 and at most {maximum_s:g} seconds "
                                      f"(RESOLVER_MAX_IN_FLIGHT_DEADLINE_S)")
    return now + timedelta(seconds=deadline_s)


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


def begin(session: Session, request: TransferRef, *, by: str,
          deadline: datetime) -> tuple[Transfer, bool]:
    """Write-ahead: record the transfer (and the deposit's hold) before the provider is called.

    `deadline` comes from `in_flight_deadline`.
    """
    return _insert_once(session, request, State.IN_FLIGHT, deadline, by)


@dataclass(frozen=True)
class Completion:
    transfer: Transfer
    # The answer disagreed with the transfer's final state: recorded, the state unchanged.
    contradicted: bool = False
    resolved: bool = False  # this call settled the transfer


def complete(session: Session, report: Report, *, by: str, now: datetime) -> Completion:
    """The caller learned the provider's clear answer; resolve through the engine's path.

    An answer that disagrees with a final state changes nothing but is recorded as a
    contradiction; a transfer in review is left to the admins (NotResolvable).
    """
    provider, tx_id, state = report.provider, report.tx_id, report.state
    transfer = session.execute(
        select(Transfer).where(Transfer.provider == provider, Transfer.tx_id == tx_id)
        .with_for_update()
    ).scalar_one_or_none()
    if transfer is None:
        raise InvalidInput("tx_id", f"no transfer {tx_id!r} registered for provider {provider!r}")
    if transfer.state == state:
        return Completion(transfer)  # the same answer twice: nothing more to do
    if State(transfer.state).is_terminal:
        record_contradiction(session, transfer, state, by=by, now=now)
        return Completion(transfer, contradicted=True)
    if transfer.state not in (State.IN_FLIGHT, State.PENDING):
        raise NotResolvable(f"transfer {transfer.id} is {transfer.state}; an admin decides it, "
                            f"complete cannot change it")
    resolve(session, transfer, state, by=by, reason=f"reported {state.value} by {by}", now=now)
    return Completion(transfer, resolved=True)


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
            f"as transfer {transfer.id} with other facts: " + "; ".join(disagreements.values()),
            field=next(iter(disagreements)), transfer_id=transfer.id,
        )
    return transfer, False
