"""The intake rules on their own (no database): what a request, a completion, `by` and a
write-ahead deadline must look like, and how each refusal names its field. Every case the
issue listed has a test named after it here; the paths that carry requests in (task, HTTP,
command line) are tested over the database in tests/integration."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from tests.conftest import scripted_instance
from worker.domain.refusal import InvalidInput
from worker.domain.types import Direction, State
from worker.engine.intake.registration import (
    actor,
    in_flight_deadline,
    parse_completion,
    parse_request,
)

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
PROVIDERS = {
    "scripted-a": scripted_instance(),
    "scripted-eur": dataclasses.replace(scripted_instance("scripted-eur"),
                                        currencies=frozenset({"EUR", "USDT"})),
}
MAX_S = 3600.0


def payload(**overrides: object) -> dict[str, object]:
    fields: dict[str, object] = {"provider": "scripted-a", "tx_id": "tx-1",
                                 "direction": "deposit", "player_id": "player-7",
                                 "amount": "10.00", "currency": "USD"}
    fields.update(overrides)
    return fields


def refusal(raw: object) -> InvalidInput:
    with pytest.raises(InvalidInput) as refused:
        parse_request(raw, PROVIDERS, NOW)
    return refused.value


# A request that follows every rule

def test_a_plain_request_is_read_into_its_facts():
    # when
    request = parse_request(payload(amount=" 12.5 ", currency="usd", direction="Withdraw",
                                    player_ref="ref 42", sent_at="2026-12-03T11:59:00Z"),
                            PROVIDERS, NOW)
    # then
    assert request.amount == Decimal("12.5000")
    assert request.currency == "USD"
    assert request.direction is Direction.WITHDRAW
    assert request.player_ref == "ref 42"  # spaces inside an id are kept
    assert request.sent_at == datetime(2026, 12, 3, 11, 59, tzinfo=UTC)


def test_left_out_optional_fields_take_their_defaults():
    # when
    request = parse_request(payload(player_ref="", sent_at=None), PROVIDERS, NOW)
    # then
    assert (request.player_ref, request.sent_at) == (None, NOW)


# Issue point 7: what crashed

@pytest.mark.parametrize("raw", [None, [], [payload()], 42, 12.5, "tx-1", True])
def test_a_payload_that_is_none_a_list_or_a_number_is_refused_as_payload(raw):
    # when
    refused = refusal(raw)
    # then
    assert refused.field == "payload"
    assert "must be an object with the transfer's fields" in refused.message


def test_an_amount_with_25_integer_digits_and_more_than_4_decimals_is_refused():
    # when
    refused = refusal(payload(amount="1234567890123456789012345.123456"))
    # then
    assert (refused.field, refused.message) == ("amount", "has more than 16 integer digits")


def test_a_5000_digit_amount_is_refused_without_being_read():
    # when
    refused = refusal(payload(amount="7" * 5000))
    # then
    assert refused.field == "amount"
    assert "is 5000 characters long" in refused.message
    assert len(refused.message) < 200


def test_by_longer_than_its_limit_is_refused_naming_by():
    # when
    with pytest.raises(InvalidInput) as refused:
        actor("w" * 129)
    # then
    assert (refused.value.field, refused.value.message) == (
        "by", "is 129 characters long; at most 120 allowed")


def test_by_leaves_room_for_the_caller_prefix_of_complete():
    # when / then
    assert len("caller:" + actor("w" * 120)) <= 128


@pytest.mark.parametrize("by", [None, "", 7, "a\x00b", "wall\u00e9t"])
def test_by_must_be_printable_ascii_text(by):
    # when
    with pytest.raises(InvalidInput) as refused:
        actor(by)
    # then
    assert refused.value.field == "by"


# Issue point 7: what was accepted though not a plain decimal string

@pytest.mark.parametrize("amount", [
    "1E+15", "1e3", "2E-4", "1_000",
    "\u0661\u0660",  # Arabic-Indic digits
    "\uff11\uff10",  # fullwidth digits
])
def test_exponents_underscores_and_other_scripts_digits_are_refused(amount):
    # when
    refused = refusal(payload(amount=amount))
    # then
    assert refused.field == "amount"
    assert refused.message.startswith('must be a plain decimal string such as "25.00"')


@pytest.mark.parametrize("amount", [12, 12.5, 1e3, float("nan"), Decimal("12.5"), True])
def test_json_numbers_are_refused_because_a_float_cannot_carry_money(amount):
    # when
    refused = refusal(payload(amount=amount))
    # then
    assert refused.field == "amount"
    assert "plain decimal string" in refused.message


def test_currency_folding_does_not_turn_usd_eszett_into_usdss():
    # when
    refused = refusal(payload(currency="usd\u00df"))
    # then
    assert refused.field == "currency"
    assert "ASCII" in refused.message


@pytest.mark.parametrize(("field", "value"), [
    ("tx_id", "tx-\u0661"), ("player_id", "p\u200b7"), ("player_ref", "r\u00e9f"),
    ("provider", "scripted-\u0430"),  # Cyrillic a
    ("direction", "DEPOS\u0130T"),  # dotted capital I
])
def test_ids_are_printable_ascii(field, value):
    # when
    refused = refusal(payload(**{field: value}))
    # then
    assert refused.field == field
    assert "printable ASCII" in refused.message


@pytest.mark.parametrize(("field", "limit"), [
    ("provider", 64), ("tx_id", 128), ("player_id", 128), ("player_ref", 256)])
def test_ids_keep_to_their_lengths(field, limit):
    # when / then
    assert refusal(payload(**{field: "x" * (limit + 1)})).message == (
        f"is {limit + 1} characters long; at most {limit} allowed")


@pytest.mark.parametrize("sent_at", [
    12, 1.5, ["2026-12-03T11:00:00Z"], {"at": 1}, "\uff12026-12-03T11:00:00Z", "x" * 10_000,
    "2026-12-03T11:00:00\x00Z", "9999-12-31T23:59:59-14:00",
])
def test_odd_sent_at_values_are_refused_not_crashed_on(sent_at):
    # when / then
    assert refusal(payload(sent_at=sent_at)).field == "sent_at"


def test_an_unknown_field_that_is_not_text_is_named_readably():
    # when
    refused = refusal({**payload(), 10**5000: "x"})
    # then
    assert (refused.field, refused.message) == ("<int>", "unknown field")


# Issue point 9: an instance's currencies

def test_a_currency_outside_the_instances_list_is_refused_naming_instance_and_list():
    # when
    refused = refusal(payload(provider="scripted-eur", currency="usd"))
    # then
    assert refused.field == "currency"
    assert refused.message == ("USD is not dealt in by provider instance 'scripted-eur' "
                               "(allowed: EUR, USDT)")


def test_a_currency_on_the_instances_list_is_taken_in_any_case():
    # when / then
    assert parse_request(payload(provider="scripted-eur", currency="usdt"),
                         PROVIDERS, NOW).currency == "USDT"


# Issue point 6: the write-ahead deadline

@pytest.mark.parametrize("deadline_s", [1e9, float("inf"), float("nan"), 1e300, -1, 0, -0.0,
                                        MAX_S + 0.001, "10**5000"])
def test_a_deadline_outside_zero_to_the_maximum_is_refused(deadline_s):
    # given
    if deadline_s == "10**5000":  # built here: even pytest's test id cannot print it
        deadline_s = 10**5000
    # when
    with pytest.raises(InvalidInput) as refused:
        in_flight_deadline(deadline_s, PROVIDERS["scripted-a"], MAX_S, NOW)
    # then
    assert refused.value.field == "deadline"
    assert "more than 0 and at most 3600 seconds" in refused.value.message


@pytest.mark.parametrize("deadline_s", [True, "60", [60], Decimal("60")])
def test_a_deadline_that_is_not_a_number_is_refused(deadline_s):
    # when / then
    with pytest.raises(InvalidInput, match="deadline: must be a number of seconds"):
        in_flight_deadline(deadline_s, PROVIDERS["scripted-a"], MAX_S, NOW)


@pytest.mark.parametrize("deadline_s", [0.001, 30, MAX_S])
def test_a_deadline_within_the_bound_is_kept(deadline_s):
    # when / then
    assert in_flight_deadline(deadline_s, PROVIDERS["scripted-a"], MAX_S, NOW) == (
        NOW + timedelta(seconds=deadline_s))


def test_without_a_deadline_the_instances_own_applies_held_to_the_maximum():
    # given an instance whose providers file asks for two hours in flight
    policy = dataclasses.replace(PROVIDERS["scripted-a"].policy,
                                 in_flight_deadline=timedelta(hours=2))
    long_instance = dataclasses.replace(PROVIDERS["scripted-a"], policy=policy)
    # when / then the process's maximum wins; under it, the instance's own deadline is kept
    assert in_flight_deadline(None, long_instance, MAX_S, NOW) == NOW + timedelta(hours=1)
    assert in_flight_deadline(None, long_instance, 3 * 3600, NOW) == NOW + timedelta(hours=2)


# complete

def test_a_completion_is_read_by_the_same_rules():
    # when / then
    assert parse_completion(" scripted-a ", "tx-1", "SUCCEEDED") == (
        parse_completion("scripted-a", "tx-1", "succeeded"))
    assert parse_completion("scripted-a", "tx-1", "failed").state is State.FAILED


@pytest.mark.parametrize(("provider", "tx_id", "outcome", "field"), [
    (None, "tx-1", "succeeded", "provider"),
    ("p" * 65, "tx-1", "succeeded", "provider"),
    ("scripted-a", ["tx-1"], "succeeded", "tx_id"),
    ("scripted-a", "tx\n1", "succeeded", "tx_id"),
    ("scripted-a", "tx-1", "pending", "outcome"),
    ("scripted-a", "tx-1", 1, "outcome"),
    ("scripted-a", "tx-1", "succeeded\u0130", "outcome"),
])
def test_a_completion_names_its_wrong_field(provider, tx_id, outcome, field):
    # when
    with pytest.raises(InvalidInput) as refused:
        parse_completion(provider, tx_id, outcome)
    # then
    assert refused.value.field == field
