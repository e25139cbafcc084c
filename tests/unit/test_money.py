from decimal import Decimal

import pytest

from worker.domain.money import InvalidMoney, parse_amount, parse_currency


@pytest.mark.parametrize(("raw", "expected"), [
    ("10", Decimal("10.0000")),
    ("10.5", Decimal("10.5000")),
    ("0.0001", Decimal("0.0001")),
    (" 7.1200 ", Decimal("7.1200")),
    ("10.00000", Decimal("10.0000")),  # trailing zeros beyond four places change nothing
    (Decimal("3.25"), Decimal("3.2500")),
    (12, Decimal("12.0000")),
    ("9999999999999999.9999", Decimal("9999999999999999.9999")),
])
def test_amounts_are_decimals_with_four_places(raw, expected):
    amount = parse_amount(raw)
    assert amount == expected
    assert amount.as_tuple().exponent == -4


@pytest.mark.parametrize(("raw", "message"), [
    ("0", "positive"),
    ("-1", "positive"),
    ("1.00001", "more than 4 decimal places"),
    ("abc", "not a decimal number"),
    ("NaN", "not a finite number"),
    ("Infinity", "not a finite number"),
    (1.5, "not a float"),
    (True, "not a bool"),
    ("10000000000000000", "integer digits"),
])
def test_bad_amounts_are_refused_with_a_reason(raw, message):
    with pytest.raises(InvalidMoney, match=message):
        parse_amount(raw)


@pytest.mark.parametrize(("raw", "expected"), [("usd", "USD"), ("USDT", "USDT"), (" eur ", "EUR")])
def test_currencies_are_upper_case_codes(raw, expected):
    assert parse_currency(raw) == expected


@pytest.mark.parametrize("raw", ["US", "U$D", "", "ABCDEFGHIJK", 840, "1US"])
def test_malformed_currencies_are_refused(raw):
    with pytest.raises(InvalidMoney):
        parse_currency(raw)
