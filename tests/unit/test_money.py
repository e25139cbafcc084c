"""Amounts and currencies as intake reads them: plain ASCII text, checked before Decimal sees it."""

from decimal import Decimal

import pytest

from worker.domain.money import InvalidMoney, parse_amount, parse_currency


@pytest.mark.parametrize(("raw", "expected"), [
    ("10", Decimal("10.0000")),
    ("10.5", Decimal("10.5000")),
    ("0.0001", Decimal("0.0001")),
    (" 7.1200 ", Decimal("7.1200")),
    ("007.50", Decimal("7.5000")),
    ("9999999999999999.9999", Decimal("9999999999999999.9999")),
])
def test_amounts_are_decimals_with_four_places(raw, expected):
    # when
    amount = parse_amount(raw)
    # then
    assert amount == expected
    assert amount.as_tuple().exponent == -4


@pytest.mark.parametrize(("raw", "message"), [
    ("0", "must be positive"),
    ("0.0000", "must be positive"),
    ("-1", "must be positive"),
    ("+1", "without a sign"),
    ("1.00001", "more than 4 decimal places"),
    ("10.00000", "more than 4 decimal places"),  # zeros too: the rule is about what is written
    ("10000000000000000", "more than 16 integer digits"),
    ("abc", "plain decimal string"),
    ("NaN", "plain decimal string"),
    ("Infinity", "plain decimal string"),
    ("1E+15", "plain decimal string"),
    ("1e3", "plain decimal string"),
    ("2E-4", "plain decimal string"),
    ("1_000", "plain decimal string"),
    ("1 000", "plain decimal string"),
    ("1,5", "plain decimal string"),
    (".5", "plain decimal string"),
    ("5.", "plain decimal string"),
    ("", "plain decimal string"),
    ("\u0661\u0662", "plain decimal string"),  # Arabic-Indic digits: Decimal() reads them as 12
    ("\uff11\uff12", "plain decimal string"),  # fullwidth digits: str.isdigit() says True
    ("1" * 25 + ".12345", "more than 16 integer digits"),
    ("1" * 5000, "5000 characters long"),
    (1.5, "not a number"),
    (12, "not a number"),
    (Decimal("3.25"), "not a number"),
    (True, "not a boolean"),
    (None, "not null"),
    (["1"], "not a list"),
])
def test_anything_but_a_plain_decimal_string_is_refused_with_the_rule(raw, message):
    # when
    with pytest.raises(InvalidMoney, match=message) as refused:
        parse_amount(raw)
    # then
    assert refused.value.field == "amount"


def test_the_refusal_of_a_huge_amount_does_not_echo_it():
    # when
    with pytest.raises(InvalidMoney) as refused:
        parse_amount("9" * 5000)
    # then
    assert len(str(refused.value)) < 200


@pytest.mark.parametrize(("raw", "expected"), [
    ("usd", "USD"), ("USDT", "USDT"), (" eur ", "EUR"), ("Usdc2", "USDC2"),
])
def test_currencies_are_upper_case_codes(raw, expected):
    # when / then
    assert parse_currency(raw) == expected


@pytest.mark.parametrize("raw", [
    "US", "U$D", "", "ABCDEFGHIJK", 840, None, "1US", "US D",
    "usd\u00df",  # "usdß".upper() is "USDSS": checked before upper-casing, so refused
    "\u0131sd",  # dotless i upper-cases to I
    "\u212aRW",  # the Kelvin sign looks like K
    "\uff35\uff33\uff24",  # fullwidth USD
])
def test_malformed_currencies_are_refused(raw):
    # when
    with pytest.raises(InvalidMoney, match="3 to 10 ASCII letters or digits") as refused:
        parse_currency(raw)
    # then
    assert refused.value.field == "currency"
