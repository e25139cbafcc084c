"""Checking what admins type or send, the same way for the command line, the API and the page."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, ValidationError, ValidationInfo, field_validator

from worker.admin import causes, queries
from worker.domain.money import InvalidMoney, parse_amount, parse_currency
from worker.domain.refusal import InvalidInput, first_refusal
from worker.engine.intake.request import MAX_LENGTHS
from worker.providers.config import parse_duration

# Far enough back for any real question, near enough that `now - age` stays a valid time.
MAX_AGE = timedelta(days=3650)
# Control characters are never part of a provider name or a tx_id, and Postgres refuses a NUL
# in text outright: a filter holding one is the admin's mistake, not the server's error.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# The widths of the columns they are compared with, as intake checks them.
MAX_PROVIDER_CHARS = MAX_LENGTHS["provider"]
MAX_TX_ID_CHARS = MAX_LENGTHS["tx_id"]


def older_than(text: str | None, field: str = "older_than") -> timedelta | None:
    """'10m', '1h', '2d' -> a duration; empty -> no filter."""
    if text is None or not text.strip():
        return None
    try:
        age = parse_duration(text)
    except (ValueError, OverflowError):
        raise InvalidInput(field, f"{text!r} is not a duration such as 90s, 10m, 1h "
                                  f"or 2d") from None
    if age > MAX_AGE:
        raise InvalidInput(field, "must be at most 3650d")
    return age


def moment(text: str | None, field: str) -> queries.Moment | None:
    """An ISO 8601 time with its offset ('2026-12-03T09:00:00Z'), or a duration meaning that
    long ago ('2h'); empty -> no filter.

    A time without an offset is refused: read on a server in another zone it would name
    another moment than the one the admin meant.
    """
    if text is None or not text.strip():
        return None
    text = text.strip()
    if not text.isascii():
        raise InvalidInput(field, "must be an ISO 8601 time or a duration, in ASCII")
    if text[:1] and text[:1].isdigit() and ("-" in text or "T" in text):
        try:
            when = datetime.fromisoformat(text)
        except ValueError:
            raise InvalidInput(field, f"{text!r} is neither an ISO 8601 time such as "
                                      f"2026-12-03T09:00:00Z nor a duration such as 2h") from None
        if when.tzinfo is None:
            raise InvalidInput(field, "needs a time zone offset, such as Z or +01:00")
        return when
    return older_than(text, field)


def cause(text: str | None) -> str | None:
    if text is None or not text.strip():
        return None
    try:
        return causes.cause(text.strip()).code
    except causes.UnknownCause as exc:
        raise InvalidInput("cause", str(exc)) from None


def currency(text: str | None) -> str | None:
    if text is None or not text.strip():
        return None
    try:
        return parse_currency(text, "currency")
    except InvalidMoney as exc:
        raise InvalidInput(exc.field, exc.message) from None


def amount(text: str | None, field: str) -> Decimal | None:
    """An amount bound under the rules of every amount we take in (worker.domain.money)."""
    if text is None or not text.strip():
        return None
    try:
        return parse_amount(text, field)
    except InvalidMoney as exc:
        raise InvalidInput(exc.field, exc.message) from None


class FilterInput(BaseModel):
    """A transfer filter as a person typed it or a script sent it, each field checked here.

    Text in (None or blank meaning "no filter"), checked values out; `filter` gives the
    query's `queries.TransferFilter`. The states arrive already chosen by the caller (each
    surface offers its own set). Read with `read_filter`, which names the first bad field.
    """

    model_config = ConfigDict(frozen=True)

    states: tuple[str, ...] = queries.ALL_STATES
    min_amount: Decimal | None = None
    max_amount: Decimal | None = None
    provider: str | None = None
    tx_id: str | None = None
    older_than: timedelta | None = None
    contradicted: bool = False
    cause: str | None = None
    currency: str | None = None
    registered_after: datetime | timedelta | None = None
    registered_before: datetime | timedelta | None = None

    @field_validator("min_amount", "max_amount", mode="before")
    @classmethod
    def _an_amount_bound(cls, value: object, info: ValidationInfo) -> Decimal | None:
        assert info.field_name is not None
        bound = amount(_text(value), info.field_name)
        low = info.data.get("min_amount")  # absent when it was refused
        if (info.field_name == "max_amount" and low is not None and bound is not None
                and low > bound):
            raise InvalidInput("max_amount", f"{bound} is below min_amount {low}")
        return bound

    @field_validator("provider", mode="before")
    @classmethod
    def _a_provider(cls, value: object) -> str | None:
        return text_filter("provider", _text(value), MAX_PROVIDER_CHARS)

    @field_validator("tx_id", mode="before")
    @classmethod
    def _a_tx_id(cls, value: object) -> str | None:
        return text_filter("tx_id", _text(value), MAX_TX_ID_CHARS)

    @field_validator("older_than", mode="before")
    @classmethod
    def _an_age(cls, value: object) -> timedelta | None:
        return older_than(_text(value))

    @field_validator("cause", mode="before")
    @classmethod
    def _a_cause(cls, value: object) -> str | None:
        return cause(_text(value))

    @field_validator("currency", mode="before")
    @classmethod
    def _a_currency(cls, value: object) -> str | None:
        return currency(_text(value))

    @field_validator("registered_after", "registered_before", mode="before")
    @classmethod
    def _a_moment(cls, value: object, info: ValidationInfo) -> queries.Moment | None:
        assert info.field_name is not None
        return moment(_text(value), info.field_name)

    def filter(self) -> queries.TransferFilter:
        return queries.TransferFilter(
            states=self.states, provider=self.provider, tx_id=self.tx_id,
            older_than=self.older_than, contradicted=self.contradicted, cause=self.cause,
            currency=self.currency, registered_after=self.registered_after,
            registered_before=self.registered_before, min_amount=self.min_amount,
            max_amount=self.max_amount)


# The order the filter's rules are checked in: a filter wrong twice is refused for the first.
FILTER_CHECK_ORDER = ("min_amount", "max_amount", "provider", "tx_id", "older_than", "cause",
                      "currency", "registered_after", "registered_before")


def read_filter(given: Mapping[str, object]) -> queries.TransferFilter:
    """A filter from its fields as given (text, states, the contradicted flag); raise
    InvalidInput naming the first that is wrong."""
    try:
        return FilterInput.model_validate(given).filter()
    except ValidationError as exc:
        raise first_refusal(exc, FILTER_CHECK_ORDER) from None


def transfer_filter(states: Sequence[str], *, provider: str | None = None,
                    tx_id: str | None = None, older_than_text: str | None = None,
                    contradicted: bool = False, cause_text: str | None = None,
                    currency_text: str | None = None, registered_after: str | None = None,
                    registered_before: str | None = None, min_amount: str | None = None,
                    max_amount: str | None = None) -> queries.TransferFilter:
    """A filter from what a person typed or a script sent, read by `FilterInput`."""
    return read_filter({
        "states": tuple(states), "provider": provider, "tx_id": tx_id,
        "older_than": older_than_text, "contradicted": contradicted, "cause": cause_text,
        "currency": currency_text, "registered_after": registered_after,
        "registered_before": registered_before, "min_amount": min_amount,
        "max_amount": max_amount})


def _text(value: object) -> str | None:
    """A filter field as text: every surface sends text (or nothing), so anything else is a
    caller's mistake in code, not a person's to be told about."""
    if value is None or isinstance(value, str):
        return value
    raise TypeError(f"a filter field is text, not {type(value).__name__}")


def text_filter(field: str, text: str | None, max_chars: int) -> str | None:
    """A provider or tx_id to filter on, stripped; empty -> no filter."""
    if text is None or not text.strip():
        return None
    if _CONTROL.search(text) or not text.isprintable():
        raise InvalidInput(field, "must not contain control characters")
    if len(text.strip()) > max_chars:
        raise InvalidInput(field, f"must be at most {max_chars} characters")
    return text.strip()


def transfer_id(text: str) -> int | None:
    """A transfer id as typed in a path, or None if it cannot be one.

    ASCII digits only: str.isdigit() also says yes to '²' and '¹²', which int() then refuses.
    """
    if not (text.isascii() and text.isdigit()):
        return None
    number = int(text)
    return number if 0 < number <= queries.MAX_ID else None


def cursor(text: str | None) -> queries.Cursor | None:
    if text is None or text == "":
        return None
    try:
        return queries.Cursor.decode(text)
    except queries.InvalidCursor as exc:
        raise InvalidInput("cursor", str(exc)) from None


@dataclass(frozen=True)
class TransferRef:
    """How an admin names a transfer: its id, or the provider and the operator's tx_id."""

    id: int | None = None
    provider: str | None = None
    tx_id: str | None = None

    def __str__(self) -> str:
        return str(self.id) if self.id is not None else f"{self.provider}:{self.tx_id}"


def transfer_ref(ref: str | None, provider: str | None = None,
                 tx_id: str | None = None) -> TransferRef:
    """`42`, `PROVIDER:TX_ID`, or no argument with both `provider` and `tx_id` given."""
    if ref is None or not ref.strip():
        if provider and tx_id:
            return TransferRef(provider=provider, tx_id=tx_id)
        raise InvalidInput("ref", "name the transfer: an id, PROVIDER:TX_ID, or both "
                                  "--provider and --tx-id")
    if provider or tx_id:
        raise InvalidInput("ref", "give either an argument or --provider/--tx-id, not both")
    ref = ref.strip()
    if ref.isascii() and ref.isdigit():
        number = transfer_id(ref)
        if number is None:
            raise InvalidInput("ref", f"{ref} is not a transfer id")
        return TransferRef(id=number)
    # Provider names never contain ':'; a tx_id may, so split at the first one only.
    name, colon, tx = ref.partition(":")
    if not colon or not name or not tx:
        raise InvalidInput("ref", f"{ref!r} is neither a transfer id nor PROVIDER:TX_ID")
    return TransferRef(provider=name, tx_id=tx)
