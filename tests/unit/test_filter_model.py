"""The transfer filter model on its own: a good filter is read into the query's filter, each
bad field is refused with the one error naming that field, and amounts stay Decimal."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from worker.admin import queries
from worker.admin.inputs import read_filter
from worker.domain.refusal import InvalidInput

GOOD = {"states": ("pending",), "provider": " scripted-a ", "tx_id": "dep-1",
        "older_than": "10m", "contradicted": True, "cause": "auth", "currency": "usd",
        "registered_after": "2026-12-01T00:00:00Z", "registered_before": "2h",
        "min_amount": "10", "max_amount": "99.5"}


def test_a_good_filter_is_read_into_the_query_filter():
    # given every field of a filter, as typed
    # when the model reads it
    parsed = read_filter(GOOD)
    # then each is in its checked form
    assert parsed == queries.TransferFilter(
        states=("pending",), provider="scripted-a", tx_id="dep-1",
        older_than=timedelta(minutes=10), contradicted=True, cause="auth", currency="USD",
        registered_after=datetime(2026, 12, 1, tzinfo=UTC),
        registered_before=timedelta(hours=2), min_amount=Decimal("10.0000"),
        max_amount=Decimal("99.5000"))


def test_the_amount_bounds_stay_decimal():
    # given amount bounds as text
    # when the model reads them
    parsed = read_filter({"min_amount": "0.1", "max_amount": "2"})
    # then they are Decimals at four places, never floats
    assert [type(b) for b in (parsed.min_amount, parsed.max_amount)] == [Decimal, Decimal]
    assert str(parsed.min_amount) == "0.1000"


def test_blank_fields_filter_nothing():
    # given fields left blank or out
    # when the model reads them
    parsed = read_filter({"provider": "  ", "cause": "", "min_amount": None})
    # then the filter is the one that takes every transfer
    assert parsed == queries.TransferFilter()


@pytest.mark.parametrize(("field", "value", "message"), [
    ("provider", "a\x00b", "must not contain control characters"),
    ("tx_id", "x" * 129, "must be at most 128 characters"),
    ("older_than", "soon", "'soon' is not a duration such as 90s, 10m, 1h or 2d"),
    ("cause", "authentication", "unknown cause"),
    ("currency", "$", "must be 3 to 10 ASCII letters"),
    ("registered_after", "2026-12-01T00:00:00", "needs a time zone offset, such as Z or +01:00"),
    ("registered_before", "yesterday", "not a duration"),
    ("min_amount", "1e3", "must be a plain decimal string"),
    ("max_amount", "1.00001", "has more than 4 decimal places"),
])
def test_each_bad_field_is_refused_naming_it(field, value, message):
    # given a filter wrong in one field
    # when the model reads it
    with pytest.raises(InvalidInput) as refused:
        read_filter({field: value})
    # then the one refusal names that field
    assert refused.value.field == field
    assert message in refused.value.message


def test_bounds_the_wrong_way_round_name_the_upper_one():
    # given a minimum above the maximum
    # when the model reads them
    with pytest.raises(InvalidInput) as refused:
        read_filter({"min_amount": "5", "max_amount": "4"})
    # then the maximum is named, with both bounds
    assert str(refused.value) == "max_amount: 4.0000 is below min_amount 5.0000"


def test_the_amounts_are_checked_first():
    # given a filter wrong in its provider and in its bounds
    # when the model reads it
    with pytest.raises(InvalidInput) as refused:
        read_filter({"provider": "a\x00", "min_amount": "5", "max_amount": "4"})
    # then the bounds are named, as they always were
    assert refused.value.field == "max_amount"
