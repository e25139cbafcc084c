"""The bulk fingerprint and the filter's inputs: pure, no database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from worker.admin import bulk, inputs, queries
from worker.domain.refusal import InvalidInput

T0 = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
ROWS = [{"id": 7, "state": "needs_review", "updated_at": T0},
        {"id": 3, "state": "pending", "updated_at": T0 + timedelta(seconds=1)}]
FILTER = queries.TransferFilter(states=("needs_review", "pending"), provider="p", cause="auth")
RECHECK = bulk.Action("recheck")


def test_the_fingerprint_carries_the_count_and_ignores_row_order() -> None:
    # when the rows are fingerprinted
    first = bulk.fingerprint(FILTER, RECHECK, ROWS)
    # then the same rows in another order agree, and the count is carried
    assert first == bulk.fingerprint(FILTER, RECHECK, list(reversed(ROWS)))
    assert first.startswith("2-") and len(first) == 2 + bulk.FINGERPRINT_HEX
    assert bulk.previewed_count(first) == 2


def test_the_same_instant_in_another_zone_is_the_same_fingerprint() -> None:
    # given the same rows with their times in another zone
    shifted = [{**row, "updated_at": row["updated_at"].astimezone(
        datetime.fromisoformat("2026-01-01T00:00+05:00").tzinfo)} for row in ROWS]
    # when / then
    assert bulk.fingerprint(FILTER, RECHECK, shifted) == bulk.fingerprint(FILTER, RECHECK, ROWS)


@pytest.mark.parametrize("change", [
    "a row more", "a row changed state", "a row was updated", "another filter",
    "another action", "another outcome"])
def test_any_change_of_set_filter_or_action_changes_the_fingerprint(change: str) -> None:
    # given the rows, filter or action with one thing changed
    rows, filters = list(ROWS), FILTER
    act = bulk.Action("resolve", "failed")
    if change == "a row more":
        rows.append({"id": 9, "state": "pending", "updated_at": T0})
    elif change == "a row changed state":
        rows[0] = {**rows[0], "state": "pending"}
    elif change == "a row was updated":
        rows[1] = {**rows[1], "updated_at": T0 + timedelta(microseconds=1001)}
    elif change == "another filter":
        filters = queries.TransferFilter(states=("needs_review", "pending"), provider="p")
    elif change == "another action":
        act = RECHECK
    else:
        act = bulk.Action("resolve", "succeeded")
    # when
    before = bulk.fingerprint(FILTER, bulk.Action("resolve", "failed"), ROWS)
    # then
    assert bulk.fingerprint(filters, act, rows) != before


def test_a_relative_filter_keeps_its_fingerprint_as_time_passes() -> None:
    # "registered before 2h" is the same filter a minute later: only the rows may differ
    # given
    relative = queries.TransferFilter(registered_before=timedelta(hours=2))
    # when / then
    assert relative.key() == queries.TransferFilter(registered_before=timedelta(hours=2)).key()
    assert relative.key()["registered_before"] == {"ago_s": 7200.0}


def test_totals_are_per_currency_in_decimal() -> None:
    # given
    rows = [{"amount": Decimal("10.1000"), "currency": "USD"},
            {"amount": Decimal("0.2000"), "currency": "USD"},
            {"amount": Decimal("5.0000"), "currency": "EUR"}]
    # when / then
    assert bulk.totals(rows) == {"EUR": Decimal("5.0000"), "USD": Decimal("10.3000")}


def test_the_filter_is_parsed_once_with_the_fields_named() -> None:
    # when
    parsed = inputs.transfer_filter(
        ("needs_review",), provider=" p ", cause_text="auth", currency_text="usd",
        registered_after="2026-12-01T00:00:00Z", registered_before="2h",
        min_amount="10", max_amount="99.5")
    # then
    assert parsed.provider == "p" and parsed.cause == "auth" and parsed.currency == "USD"
    assert parsed.registered_after == datetime(2026, 12, 1, tzinfo=UTC)
    assert parsed.registered_before == timedelta(hours=2)
    assert (parsed.min_amount, parsed.max_amount) == (Decimal("10.0000"), Decimal("99.5000"))


@pytest.mark.parametrize(("given", "field", "words"), [
    ({"cause_text": "authentication"}, "cause", "known: not_configured, max_age, auth"),
    ({"currency_text": "$"}, "currency", "ASCII letters"),
    ({"min_amount": "1e3"}, "min_amount", "plain decimal"),
    ({"max_amount": "1.00001"}, "max_amount", "decimal places"),
    ({"min_amount": "5", "max_amount": "4"}, "max_amount", "below min_amount"),
    ({"registered_after": "2026-12-01T00:00:00"}, "registered_after", "time zone"),
    ({"registered_before": "2026-13-01T00:00Z"}, "registered_before", "ISO 8601"),
    ({"registered_before": "yesterday"}, "registered_before", "duration"),
    ({"registered_after": "\uff12h"}, "registered_after", "ASCII"),  # a fullwidth 2
])
def test_a_bad_filter_value_is_refused_naming_its_field(given: dict[str, str], field: str,
                                                         words: str) -> None:
    # when
    with pytest.raises(InvalidInput) as refused:
        inputs.transfer_filter(("pending",), **given)  # type: ignore[arg-type]
    # then
    assert refused.value.field == field
    assert words in refused.value.message


def test_bulk_takes_only_states_a_person_may_act_on() -> None:
    # when / then
    assert bulk.states("open") == ("pending", "needs_review") == bulk.states(None)
    with pytest.raises(InvalidInput, match="state"):
        bulk.states("succeeded")


def test_an_action_is_checked_with_its_outcome() -> None:
    # when / then
    assert bulk.action("resolve", "failed") == bulk.Action("resolve", "failed")
    for kind, outcome, field in (("delete", None, "action"), ("resolve", None, "outcome"),
                                 ("recheck", "failed", "outcome")):
        with pytest.raises(InvalidInput) as refused:
            bulk.action(kind, outcome)
        assert refused.value.field == field
