"""Validation of the money facts of a transfer. Decimal only: a float never enters.

An amount handed to us as text is read in one notation only, checked character by character
before any Decimal is made: ASCII digits, optionally a point and more digits. `Decimal()` and
`str.isdigit()` are far more generous (exponents, underscores, Arabic-Indic or fullwidth
digits, NaN), and every one of those has been a way to slip a wrong amount in.
"""

from __future__ import annotations

import re
import string
from decimal import Decimal

MAX_DECIMALS = 4
# NUMERIC(20, 4) holds 16 integer digits.
MAX_INTEGER_DIGITS = 16
# Plain decimal notation, the one rule for amounts written as text (ours and the providers'):
# an optional sign, ASCII digits, and a point only between digits ("5." and ".5" are not
# amounts anyone writes on purpose). `[0-9]` is ASCII only; `\d` would take any script's digits.
PLAIN_DECIMAL = re.compile(r"(?P<sign>[+-]?)(?P<whole>[0-9]+)(?:\.(?P<fraction>[0-9]+))?")
# Longer text than this cannot be an amount we store, whatever it holds: refused unread.
MAX_AMOUNT_CHARS = 64
# Checked on the text as received, before upper-casing: "usdß".upper() is "USDSS".
_CURRENCY = re.compile(r"[A-Za-z][A-Za-z0-9]{2,9}")
_PLACES = Decimal(1).scaleb(-MAX_DECIMALS)
AMOUNT_RULE = (f'must be a plain decimal string such as "25.00" (digits, optional point, '
               f'at most {MAX_DECIMALS} decimals)')
CURRENCY_RULE = "must be 3 to 10 ASCII letters or digits, starting with a letter, such as USD"


class InvalidMoney(ValueError):
    """An amount or currency that cannot be a transfer's; `field` names which."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def parse_amount(value: object, field: str = "amount") -> Decimal:
    """A positive amount from plain decimal text, at four decimal places.

    Only a string is an amount: a JSON number has been through a float somewhere, and a float
    cannot carry money. Spaces around the text are ignored; anything else that is not plain
    notation is refused, never rounded or guessed.
    """
    if not isinstance(value, str):
        raise InvalidMoney(field, f"{AMOUNT_RULE}, not {describe_type(value)}")
    text = value.strip(string.whitespace)
    if len(text) > MAX_AMOUNT_CHARS:
        raise InvalidMoney(field, f"is {len(text)} characters long; an amount has at most "
                                  f"{MAX_INTEGER_DIGITS} integer digits and {MAX_DECIMALS} "
                                  f"decimals")
    notation = PLAIN_DECIMAL.fullmatch(text)
    if notation is None:
        raise InvalidMoney(field, f"{AMOUNT_RULE}; got {text!r}")
    if notation["sign"] == "-":
        raise InvalidMoney(field, f"must be positive, got {text}")
    if notation["sign"]:
        raise InvalidMoney(field, f"{AMOUNT_RULE}, without a sign; got {text!r}")
    if len(notation["whole"]) > MAX_INTEGER_DIGITS:
        raise InvalidMoney(field, f"has more than {MAX_INTEGER_DIGITS} integer digits")
    if len(notation["fraction"] or "") > MAX_DECIMALS:
        raise InvalidMoney(field, f"has more than {MAX_DECIMALS} decimal places")
    amount = Decimal(text)
    if amount == 0:
        raise InvalidMoney(field, f"must be positive, got {text}")
    return amount.quantize(_PLACES)


def parse_currency(value: object, field: str = "currency") -> str:
    """An ISO 4217 code or a provider's token code (USDT), upper case."""
    if not isinstance(value, str):
        raise InvalidMoney(field, f"{CURRENCY_RULE}, not {describe_type(value)}")
    code = value.strip(string.whitespace)
    if not _CURRENCY.fullmatch(code):
        shown = code if len(code) <= 20 else code[:20] + "..."
        raise InvalidMoney(field, f"{CURRENCY_RULE}; got {shown!r}")
    return code.upper()


def describe_type(value: object) -> str:
    """How a wrong value is named in a refusal: by its JSON kind, without echoing it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float | Decimal):
        return "a number"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, str):
        return "a string"
    return f"a {type(value).__name__} value"
