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

import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from models import Transfer
from worker.domain.money import InvalidMoney, describe_type, parse_amount, parse_currency
from worker.domain.policy import first_check_at
from worker.domain.types import Direction, State, TransferRef
from worker.engine.resolve import ledger
from worker.engine.resolve.resolution import NotResolvable, record_contradiction, resolve
from worker.providers.instance import ProviderInstance

# Every text field is printable ASCII within these lengths (the columns' sizes). `by` leaves
# room for the "caller:" that `complete` puts before it in the 128-character resolved_by.
MAX_LENGTHS = {"provider": 64, "tx_id": 128, "direction": 16, "player_id": 128,
               "player_ref": 256, "sent_at": 64, "outcome": 16, "by": 120}
FIELDS = ("provider", "tx_id", "direction", "player_id", "player_ref", "amount", "currency",
          "sent_at")
# A wallet's clock may run a little ahead of ours; a sent_at further ahead is a mistake.
CLOCK_SLACK = timedelta(minutes=5)
# A transfer sent longer ago than this is a typing mistake, not a timeout to settle.
OLDEST_SENT_AT = timedelta(days=365)
_T = TypeVar("_T")
_PRINTABLE_ASCII = "printable ASCII (letters, digits, punctuation, spaces); no control characters"


class IntakeError(ValueError):
    """The request is invalid; `field` names what is wrong. Nothing was written."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


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
    """Check every field of a request; raise IntakeError naming the first that is wrong.

    This is the one reading of a transfer handed over, whichever way it came in (a Python
    call, a Celery message, the HTTP API, the command line).
    """
    if not isinstance(raw, Mapping):
        raise IntakeError("payload", f"must be an object with the transfer's fields "
                                     f"({', '.join(FIELDS)}), not {describe_type(raw)}")
    unknown = sorted(_shown(key) for key in raw if key not in FIELDS)
    if unknown:
        raise IntakeError(unknown[0], "unknown field")

    provider = text_field("provider", raw.get("provider"))
    instance = providers.get(provider)
    if instance is None:
        configured = ", ".join(sorted(providers)) or "none"
        raise IntakeError("provider", f"unknown provider instance {provider!r} "
                                      f"(configured: {configured})")
    direction = text_field("direction", raw.get("direction")).lower()
    if direction not in (Direction.DEPOSIT, Direction.WITHDRAW):
        raise IntakeError("direction", "must be deposit or withdraw")
    amount = _money(parse_amount, raw.get("amount"))
    currency = _money(parse_currency, raw.get("currency"))
    if instance.currencies is not None and currency not in instance.currencies:
        raise IntakeError("currency", f"{currency} is not dealt in by provider instance "
                                      f"{provider!r} (allowed: "
                                      f"{', '.join(sorted(instance.currencies))})")
    return TransferRef(
        provider=provider,
        tx_id=text_field("tx_id", raw.get("tx_id")),
        direction=Direction(direction),
        player_id=text_field("player_id", raw.get("player_id")),
        player_ref=text_field("player_ref", raw.get("player_ref"), optional=True) or None,
        amount=amount,
        currency=currency,
        sent_at=_sent_at(raw.get("sent_at"), now),
    )


def parse_completion(provider: object, tx_id: object, outcome: object) -> Report:
    """The fields of a `complete` call, by the same rules as a request's."""
    checked_provider = text_field("provider", provider)
    checked_tx_id = text_field("tx_id", tx_id)
    answer = text_field("outcome", outcome).lower()
    if answer not in (State.SUCCEEDED, State.FAILED):
        raise IntakeError("outcome", "must be succeeded or failed")
    return Report(checked_provider, checked_tx_id, State(answer))


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
        raise IntakeError("deadline", f"must be a number of seconds, not "
                                      f"{describe_type(deadline_s)}")
    # Written so that NaN fails too: every comparison with NaN is false.
    if not 0 < deadline_s <= maximum_s:
        raise IntakeError("deadline", f"must be more than 0 and at most {maximum_s:g} seconds "
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


def text_field(field: str, value: object, *, optional: bool = False) -> str:
    """A text field: a string of printable ASCII within its length, spaces around ignored.

    ASCII because these are identifiers another system matches byte for byte: a lookalike
    letter or a character that changes under case folding would be another transfer's id.
    Spaces inside are kept (some wallets' references have them). An optional field left out
    or blank is "".
    """
    if value is None or (isinstance(value, str) and not value.strip(string.whitespace)):
        if optional:
            return ""
        raise IntakeError(field, "is required")
    if not isinstance(value, str):
        raise IntakeError(field, f"must be a string, not {describe_type(value)}")
    text = value.strip(string.whitespace)
    limit = MAX_LENGTHS[field]
    if len(text) > limit:
        raise IntakeError(field, f"is {len(text)} characters long; at most {limit} allowed")
    if not (text.isascii() and text.isprintable()):
        raise IntakeError(field, f"must be {_PRINTABLE_ASCII}")
    return text


def _money(parse: Callable[[object], _T], value: object) -> _T:
    try:
        return parse(value)
    except InvalidMoney as exc:
        if value is None:
            raise IntakeError(exc.field, "is required") from None
        raise IntakeError(exc.field, exc.message) from None


def _shown(key: object) -> str:
    """An unknown field's name as a refusal names it: never long, never raw control text.

    A key that is not text (only a Python caller can send one) is named by its type: the repr
    of a huge int would itself raise.
    """
    name = key if isinstance(key, str) else f"<{type(key).__name__}>"
    return (name if len(name) <= 64 else name[:64] + "...").encode("ascii", "replace").decode()


def _sent_at(value: object, now: datetime) -> datetime:
    if value is None or value == "":
        return now
    if isinstance(value, datetime):  # a Python caller's own time
        parsed = value
    else:
        text = text_field("sent_at", value)
        try:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise IntakeError("sent_at", f"{text!r} is not an ISO 8601 time") from None
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
