"""Validation of the money facts of a transfer. Decimal only: a float never enters."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

MAX_DECIMALS = 4
# NUMERIC(20, 4) holds 16 integer digits.
MAX_INTEGER_DIGITS = 16
_CURRENCY = re.compile(r"^[A-Z][A-Z0-9]{2,9}$")


class InvalidMoney(ValueError):
    """An amount or currency that cannot be a transfer's."""


def parse_amount(value: object, field: str = "amount") -> Decimal:
    """A positive amount with at most four decimal places, from a string, int or Decimal."""
    if isinstance(value, bool | float):
        raise InvalidMoney(f"{field} must be a decimal string, not a {type(value).__name__}")
    try:
        amount = Decimal(str(value).strip()) if not isinstance(value, Decimal) else value
    except InvalidOperation:
        raise InvalidMoney(f"{field} {value!r} is not a decimal number") from None
    if not amount.is_finite():
        raise InvalidMoney(f"{field} {value!r} is not a finite number")
    if amount <= 0:
        raise InvalidMoney(f"{field} must be positive, got {amount}")
    exponent = amount.as_tuple().exponent
    assert isinstance(exponent, int)
    if -exponent > MAX_DECIMALS and amount != amount.quantize(Decimal(1).scaleb(-MAX_DECIMALS)):
        raise InvalidMoney(f"{field} {amount} has more than {MAX_DECIMALS} decimal places")
    if amount.adjusted() >= MAX_INTEGER_DIGITS:
        raise InvalidMoney(f"{field} {amount} has more than {MAX_INTEGER_DIGITS} integer digits")
    return amount.quantize(Decimal(1).scaleb(-MAX_DECIMALS))


def parse_currency(value: object, field: str = "currency") -> str:
    """An ISO 4217 code or a provider's token code (USDT): 3 to 10 letters or digits, upper case."""
    if not isinstance(value, str):
        raise InvalidMoney(f"{field} must be a string")
    code = value.strip().upper()
    if not _CURRENCY.match(code):
        raise InvalidMoney(
            f"{field} {value!r} is malformed: expected 3 to 10 letters or digits, such as USD"
        )
    return code
