"""A transfer handed over, as one pydantic model: `Registration`.

This is the one reading of a registration, whichever way it came in (a Python call, a Celery
message, the HTTP API, the command line); the HTTP API's OpenAPI document describes its body
with this model's schema. Every field is checked by the model's own validators, in the words a
caller has always read; `parse` turns the model's ValidationError into the one refusal,
`InvalidInput`, naming the first bad field in the order the rules are checked.

Validation needs to know the configured provider instances and the time it happens: both come
in the validation context (`IntakeContext`).
"""

from __future__ import annotations

import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from worker.domain.money import (
    MAX_DECIMALS,
    MAX_INTEGER_DIGITS,
    InvalidMoney,
    describe_type,
    parse_amount,
    parse_currency,
)
from worker.domain.refusal import InvalidInput, first_refusal
from worker.domain.types import Direction, TransferRef
from worker.providers.instance import ProviderInstance

# Every text field is printable ASCII within these lengths (the columns' sizes). `by` leaves
# room for the "caller:" that `complete` puts before it in the 128-character resolved_by.
MAX_LENGTHS = {"provider": 64, "tx_id": 128, "direction": 16, "player_id": 128,
               "player_ref": 256, "sent_at": 64, "outcome": 16, "by": 120}
FIELDS = ("provider", "tx_id", "direction", "player_id", "player_ref", "amount", "currency",
          "sent_at")
# The order the rules are checked in: a request wrong in two places is refused for the first.
CHECK_ORDER = ("payload", "provider", "direction", "amount", "currency", "tx_id", "player_id",
               "player_ref", "sent_at")
# A wallet's clock may run a little ahead of ours; a sent_at further ahead is a mistake.
CLOCK_SLACK = timedelta(minutes=5)
# A transfer sent longer ago than this is a typing mistake, not a timeout to settle.
OLDEST_SENT_AT = timedelta(days=365)
_T = TypeVar("_T")
_PRINTABLE_ASCII = "printable ASCII (letters, digits, punctuation, spaces); no control characters"


@dataclass(frozen=True)
class IntakeContext:
    """What checking a registration needs besides the request: the configured instances (a
    provider must be one, a currency one it deals in) and now (sent_at's default and bounds)."""

    providers: Mapping[str, ProviderInstance]
    now: datetime


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
        raise InvalidInput(field, "is required")
    if not isinstance(value, str):
        raise InvalidInput(field, f"must be a string, not {describe_type(value)}")
    text = value.strip(string.whitespace)
    limit = MAX_LENGTHS[field]
    if len(text) > limit:
        raise InvalidInput(field, f"is {len(text)} characters long; at most {limit} allowed")
    if not (text.isascii() and text.isprintable()):
        raise InvalidInput(field, f"must be {_PRINTABLE_ASCII}")
    return text


def _text(field: str, description: str = "", **extra: Any) -> Any:
    return Field(max_length=MAX_LENGTHS[field],
                 description=(description + " Printable ASCII.").strip(), **extra)


class Registration(BaseModel):
    """A transfer whose call timed out or ended unclear, as the wallet hands it over."""

    model_config = ConfigDict(extra="forbid", frozen=True, title="RegisterBody")

    provider: str = _text("provider", "A configured provider instance.")
    tx_id: str = _text("tx_id")
    direction: Annotated[Direction, WithJsonSchema(
        {"enum": [Direction.DEPOSIT.value, Direction.WITHDRAW.value], "title": "Direction",
         "type": "string"})]
    player_id: str = _text("player_id")
    player_ref: str | None = _text("player_ref", default=None)
    amount: Annotated[Decimal, WithJsonSchema({"type": "string"})] = Field(
        description=f"A positive amount as a JSON string of ASCII digits, with an optional "
                    f"point and at most {MAX_DECIMALS} decimals; at most {MAX_INTEGER_DIGITS} "
                    f"integer digits. Never a JSON number, never an exponent.",
        examples=["10.00"])
    currency: str = Field(description="3 to 10 ASCII letters or digits; upper-cased.",
                          examples=["USD"], min_length=3, max_length=10)
    # Left out, it is now (the validator's default): never None once read.
    sent_at: Annotated[datetime, WithJsonSchema(
        {"anyOf": [{"maxLength": MAX_LENGTHS["sent_at"], "type": "string"},
                   {"type": "null"}]})] = Field(
        default=None, validate_default=True,
        description="ISO 8601 with a time zone; now when left out. Printable ASCII.")

    @model_validator(mode="before")
    @classmethod
    def _an_object_of_known_fields(cls, raw: object) -> dict[Any, Any]:
        if not isinstance(raw, Mapping):
            raise InvalidInput("payload", f"must be an object with the transfer's fields "
                                          f"({', '.join(FIELDS)}), not {describe_type(raw)}")
        unknown = sorted(_shown(key) for key in raw if key not in FIELDS)
        if unknown:
            raise InvalidInput(unknown[0], "unknown field")
        # A field left out is read as null, so that its own rule says what is missing.
        return {**dict.fromkeys(FIELDS), **raw}

    @field_validator("provider", mode="before")
    @classmethod
    def _a_configured_instance(cls, value: object, info: ValidationInfo) -> str:
        provider = text_field("provider", value)
        providers = _context(info).providers
        if provider not in providers:
            configured = ", ".join(sorted(providers)) or "none"
            raise InvalidInput("provider", f"unknown provider instance {provider!r} "
                                           f"(configured: {configured})")
        return provider

    @field_validator("tx_id", "player_id", mode="before")
    @classmethod
    def _an_id(cls, value: object, info: ValidationInfo) -> str:
        assert info.field_name is not None
        return text_field(info.field_name, value)

    @field_validator("player_ref", mode="before")
    @classmethod
    def _an_optional_ref(cls, value: object) -> str | None:
        return text_field("player_ref", value, optional=True) or None

    @field_validator("direction", mode="before")
    @classmethod
    def _deposit_or_withdraw(cls, value: object) -> Direction:
        direction = text_field("direction", value).lower()
        if direction not in (Direction.DEPOSIT, Direction.WITHDRAW):
            raise InvalidInput("direction", "must be deposit or withdraw")
        return Direction(direction)

    @field_validator("amount", mode="before")
    @classmethod
    def _an_amount(cls, value: object) -> Decimal:
        return _money(parse_amount, value)

    @field_validator("currency", mode="before")
    @classmethod
    def _a_currency_of_the_instance(cls, value: object, info: ValidationInfo) -> str:
        currency = _money(parse_currency, value)
        provider = info.data.get("provider")  # absent when the provider was refused
        instance = _context(info).providers.get(provider) if provider else None
        if (instance is not None and instance.currencies is not None
                and currency not in instance.currencies):
            raise InvalidInput("currency", f"{currency} is not dealt in by provider instance "
                                           f"{provider!r} (allowed: "
                                           f"{', '.join(sorted(instance.currencies))})")
        return currency

    @field_validator("sent_at", mode="before")
    @classmethod
    def _a_recent_aware_time(cls, value: object, info: ValidationInfo) -> datetime:
        return _sent_at(value, _context(info).now)

    def transfer_ref(self) -> TransferRef:
        return TransferRef(provider=self.provider, tx_id=self.tx_id, direction=self.direction,
                           player_id=self.player_id, player_ref=self.player_ref,
                           amount=self.amount, currency=self.currency, sent_at=self.sent_at)


def parse(raw: object, providers: Mapping[str, ProviderInstance], now: datetime) -> Registration:
    """A registration read by the model; raise InvalidInput naming the first wrong field."""
    try:
        return Registration.model_validate(raw, context=IntakeContext(providers, now))
    except ValidationError as exc:
        raise first_refusal(exc, CHECK_ORDER) from None


def _context(info: ValidationInfo) -> IntakeContext:
    if not isinstance(info.context, IntakeContext):
        raise TypeError("a Registration is validated with an IntakeContext (see parse)")
    return info.context


def _money(parse_money: Callable[[object], _T], value: object) -> _T:
    try:
        return parse_money(value)
    except InvalidMoney as exc:
        if value is None:
            raise InvalidInput(exc.field, "is required") from None
        raise InvalidInput(exc.field, exc.message) from None


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
            raise InvalidInput("sent_at", f"{text!r} is not an ISO 8601 time") from None
    if parsed.tzinfo is None:
        raise InvalidInput("sent_at", "must carry a time zone, such as 2026-01-31T12:00:00Z")
    try:
        parsed = parsed.astimezone(UTC)
    except OverflowError:
        raise InvalidInput("sent_at", f"{value!r} is out of range") from None
    if parsed > now + CLOCK_SLACK:
        raise InvalidInput("sent_at", f"{parsed.isoformat()} is in the future")
    if parsed < now - OLDEST_SENT_AT:
        raise InvalidInput("sent_at", f"{parsed.isoformat()} is more than a year ago")
    return parsed
