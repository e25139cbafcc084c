"""Reading provider answers, shared by the five adapters so one set of rules holds for all.

- An answer that is not in the documented shape raises `Unreadable` while it is read; the
  `unreadable_is_retry` decorator on `classify` turns that into RETRY with the reason, so garbage
  never becomes SUCCEEDED or FAILED.
- Money is Decimal: JSON numbers are parsed as Decimal (never float), and a string amount must
  be plain decimal notation ("-12.50"; not "1e3", "NaN", " 12" or "1_000").
- `judge` compares what a provider's record says with our transfer: any difference in amount,
  currency, direction, player or transaction id is a MISMATCH whose detail names each one.
- `Verdict.provider_amount` is the size of the transfer. Where a provider signs its amounts by
  direction (minigame, lucko, hrg) the sign is moved into `direction` and the amount kept positive.
  `Verdict.provider_currency` is the provider's code upper-cased.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, TypeVar

from pydantic import AfterValidator

from worker.domain.money import (
    MAX_DECIMALS,
    MAX_INTEGER_DIGITS,
    PLAIN_DECIMAL,
    describe_type,
)
from worker.domain.types import Direction, Outcome, TransferRef
from worker.providers.base import Verdict

_PLACES = Decimal(1).scaleb(-MAX_DECIMALS)
RATE_LIMITED = Verdict(Outcome.RATE_LIMITED, "HTTP 429: too many requests")


class Unreadable(ValueError):
    """The answer is not what the provider documents: a RETRY, never a final outcome."""


_K = TypeVar("_K")
_V = TypeVar("_V")


def documented(table: Mapping[_K, _V], value: _K, field: str) -> _V:
    """The meaning of a documented value; anything else makes the answer unreadable."""
    if value not in table:
        raise Unreadable(f"{field} {str(value)[:40]!r} is not documented")
    return table[value]


_Adapter = TypeVar("_Adapter")
_Code = TypeVar("_Code", int, str)
_Classify = Callable[[_Adapter, TransferRef, int, bytes], Verdict]


def unreadable_is_retry(read: _Classify[_Adapter]) -> _Classify[_Adapter]:
    """Wraps `classify`: an answer that cannot be read is RETRY with what was wrong."""

    @functools.wraps(read)
    def classify(
        adapter: _Adapter, transfer: TransferRef, http_status: int, body: bytes
    ) -> Verdict:
        try:
            return read(adapter, transfer, http_status, body)
        except Unreadable as exc:
            return Verdict(Outcome.RETRY, f"unreadable answer (HTTP {http_status}): {exc}")

    return classify


def parse_json(body: bytes) -> object:
    try:
        return json.loads(body, parse_float=Decimal, parse_constant=_reject_constant)
    # JSONDecodeError and UnicodeDecodeError are ValueErrors; absurd nesting is a RecursionError.
    except (ValueError, RecursionError) as exc:
        raise Unreadable(f"not JSON: {str(exc)[:200]}") from None


def _reject_constant(name: str) -> object:
    raise ValueError(f"{name} is not a number")


class Fields:
    """A JSON object read strictly: a missing or mistyped field raises `Unreadable` naming it."""

    def __init__(self, value: object, path: str = "answer") -> None:
        if not isinstance(value, dict):
            raise Unreadable(f"{path} is {describe_type(value)}, not an object")
        self._values: dict[str, object] = value
        self.path = path

    def _get(self, name: str) -> object:
        if name not in self._values:
            raise Unreadable(f"{self.path}.{name} is missing")
        return self._values[name]

    def _wrong(self, name: str, value: object, expected: str) -> Unreadable:
        return Unreadable(f"{self.path}.{name} is {describe_type(value)}, not {expected}")

    def obj(self, name: str) -> Fields:
        return Fields(self._get(name), f"{self.path}.{name}")

    def text(self, name: str) -> str:
        value = self._get(name)
        if not isinstance(value, str):
            raise self._wrong(name, value, "a string")
        return value

    def integer(self, name: str) -> int:
        value = self._get(name)
        # bool is an int subclass in Python; `true` is never a code or a status.
        if isinstance(value, bool) or not isinstance(value, int):
            raise self._wrong(name, value, "an integer")
        return value

    def decimal(self, name: str) -> Decimal:
        """A signed amount, from a JSON number or a plain decimal string, at 4 decimal places."""
        return to_amount(self._get(name), f"{self.path}.{name}")

    def code(self) -> str | None:
        """The answer's `code` as text when it is a string or an integer, for a detail line."""
        value = self._values.get("code")
        if isinstance(value, str | int) and not isinstance(value, bool):
            return str(value)[:40]
        return None

    def optional_text(self, name: str) -> str | None:
        """A message for the detail: absent or not a string is simply no message."""
        value = self._values.get(name)
        return value if isinstance(value, str) else None


def to_amount(value: object, path: str) -> Decimal:
    if isinstance(value, bool):
        raise Unreadable(f"{path} is a boolean, not an amount")
    if isinstance(value, str) and not PLAIN_DECIMAL.fullmatch(value):
        raise Unreadable(f"{path} {value[:40]!r} is not a plain decimal number")
    if not isinstance(value, int | Decimal | str):
        raise Unreadable(f"{path} is {describe_type(value)}, not an amount")
    amount = Decimal(value)
    # A JSON number like 1e400 is a finite Decimal, but no transfer we store is that large.
    if amount and amount.adjusted() >= MAX_INTEGER_DIGITS:
        raise Unreadable(f"{path} has more than {MAX_INTEGER_DIGITS} integer digits")
    rounded = amount.quantize(_PLACES)
    if rounded != amount:
        raise Unreadable(f"{path} {amount} has more than {MAX_DECIMALS} decimal places")
    return rounded


def split_signed(amount: Decimal) -> tuple[Decimal, Direction | None]:
    """A provider's signed amount -> (size, direction): positive is a deposit, negative a
    withdraw; zero says no direction (and will differ from our positive amount anyway)."""
    if amount > 0:
        return amount, Direction.DEPOSIT
    if amount < 0:
        return -amount, Direction.WITHDRAW
    return amount, None


def player_of(transfer: TransferRef) -> str:
    """Who the transfer is for on the provider's side: its player reference, else our player id."""
    return transfer.player_ref or transfer.player_id


@dataclass(frozen=True)
class Record:
    """What a provider's record says about one transfer; None where the answer does not say."""

    outcome: Outcome  # what the record means when it agrees with ours
    status: str  # the provider's raw status, for the check row
    amount: Decimal | None = None
    currency: str | None = None
    direction: Direction | None = None
    player: str | None = None
    tx_id: str | None = None
    note: str | None = None  # anything else worth showing, such as free credit
    # The forms of our player this provider may answer with; empty means `player_of(transfer)`.
    our_players: tuple[str, ...] = ()


def judge(transfer: TransferRef, record: Record) -> Verdict:
    """The record's outcome if it agrees with our transfer, else MISMATCH naming what differs.

    A FAILED or PENDING record that disagrees is a MISMATCH too: it may be about another transfer.
    """
    differences = list(_differences(transfer, record))
    currency = record.currency.strip().upper() if record.currency is not None else None
    if differences:
        outcome, detail = Outcome.MISMATCH, f"status {record.status}; " + "; ".join(differences)
    else:
        outcome, detail = record.outcome, f"status {record.status}"
    if record.note:
        detail += f"; {record.note}"
    return Verdict(
        outcome,
        detail,
        provider_status=record.status,
        provider_amount=record.amount,
        provider_currency=currency,
    )


def _differences(transfer: TransferRef, record: Record) -> Iterable[str]:
    if record.amount is not None and record.amount != transfer.amount:
        yield f"amount: provider {_money(record.amount)}, ours {_money(transfer.amount)}"
    if record.currency is not None and (
        record.currency.strip().upper() != transfer.currency.strip().upper()
    ):
        yield f"currency: provider {record.currency!r}, ours {transfer.currency!r}"
    if record.direction is not None and record.direction is not transfer.direction:
        yield f"direction: provider {record.direction}, ours {transfer.direction}"
    ours = record.our_players or (player_of(transfer),)
    if record.player is not None and record.player not in ours:
        yield f"player: provider {record.player!r}, ours {' or '.join(map(repr, ours))}"
    if record.tx_id is not None and record.tx_id != transfer.tx_id:
        yield f"tx id: provider {record.tx_id!r}, ours {transfer.tx_id!r}"


def _money(amount: Decimal) -> str:
    return f"{amount.quantize(_PLACES)}"


def coded(outcome: Outcome, code: object, message: str | None, note: str = "") -> Verdict:
    """The verdict of a provider error code, keeping the code and the provider's message."""
    detail = f"code {code}"
    if message:
        detail += f": {message[:300]}"
    if note:
        detail += f" ({note})"
    return Verdict(outcome, detail, provider_status=str(code))


def from_code(table: Mapping[_Code, Outcome], code: _Code, message: str | None) -> Verdict:
    """The verdict of a code from the provider's documented table; any other code is RETRY."""
    if code in table:
        return coded(table[code], code, message)
    return coded(Outcome.RETRY, code, message, "undocumented code")


def undocumented_http(http_status: int) -> Verdict:
    return Verdict(Outcome.RETRY, f"HTTP {http_status} is not a documented answer")


# 401 and 403 mean our credentials, signature or address were refused, at every provider: none
# of the five documents otherwise. A person must act, so AUTH_ERROR, never a retry until max_age.
REFUSED_STATUSES = frozenset({401, 403})
# Statuses whose meaning is fixed for every provider, so no setting may call them answers.
GATED_STATUSES = REFUSED_STATUSES | {429}


def status_gate(http_status: int, body: bytes) -> Verdict | None:
    """The verdict when the HTTP status alone decides for every provider (429 or a refusal),
    else None. A refusal keeps the provider's code and message when the body has them."""
    if http_status == 429:
        return RATE_LIMITED
    if http_status in REFUSED_STATUSES:
        return Verdict(Outcome.AUTH_ERROR, f"HTTP {http_status}: {_refusal(body)}")
    return None


def http_gate(http_status: int, body: bytes, answer_statuses: Iterable[int]) -> Verdict | None:
    """For providers whose answers come in the body with set HTTP statuses: the verdict when
    the status alone decides (429, 401, 403, or a status that carries no answer), else None."""
    if gated := status_gate(http_status, body):
        return gated
    if http_status not in answer_statuses:
        return undocumented_http(http_status)
    return None


def message_of(body: bytes) -> str | None:
    """The provider's `msg` or `message`, if the body is a JSON object with one."""
    return _message(_object_or_none(body))


def _message(answer: Fields | None) -> str | None:
    if answer is None:
        return None
    return answer.optional_text("msg") or answer.optional_text("message")


def _refusal(body: bytes) -> str:
    """What a refusal said: its code and message when the body is a JSON object with them."""
    answer = _object_or_none(body)
    code = answer.code() if answer is not None else None
    said = "; ".join(part for part in (code and f"code {code}", _message(answer)) if part)
    return "credentials or address refused" + (f" ({said[:300]})" if said else "")


def _object_or_none(body: bytes) -> Fields | None:
    # A refused request may answer in any shape, even text or HTML: no shape is required.
    try:
        return Fields(parse_json(body))
    except Unreadable:
        return None


def answer_statuses(statuses: list[int]) -> list[int]:
    """Validates an `answer_http_statuses` setting: 401, 403 and 429 have a fixed meaning."""
    fixed = sorted(set(statuses) & GATED_STATUSES)
    if fixed:
        raise ValueError(
            f"HTTP {', '.join(map(str, fixed))} cannot be an answer status: 401 and 403 are "
            "always AUTH_ERROR and 429 always RATE_LIMITED"
        )
    return statuses


AnswerStatuses = Annotated[list[int], AfterValidator(answer_statuses)]
