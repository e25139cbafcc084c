"""The Registration model on its own: a good registration is read into its facts, each bad
field is refused with the one error naming that field, and money stays Decimal."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from tests.conftest import scripted_instance
from worker.domain.refusal import InvalidInput
from worker.domain.types import Direction
from worker.engine.intake.request import Registration, parse

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
PROVIDERS = {
    "scripted-a": scripted_instance(),
    "scripted-eur": dataclasses.replace(scripted_instance("scripted-eur"),
                                        currencies=frozenset({"EUR"})),
}
GOOD = {"provider": "scripted-a", "tx_id": "tx-1", "direction": "deposit",
        "player_id": "player-7", "player_ref": "ref 1", "amount": "10.5", "currency": "usd",
        "sent_at": "2026-12-03T11:00:00Z"}


def test_a_good_registration_is_read_into_its_facts():
    # given a registration that keeps every rule
    # when the model reads it
    registration = parse(GOOD, PROVIDERS, NOW)
    # then each fact is in its checked form
    assert registration == Registration.model_construct(
        provider="scripted-a", tx_id="tx-1", direction=Direction.DEPOSIT, player_id="player-7",
        player_ref="ref 1", amount=Decimal("10.5000"), currency="USD",
        sent_at=datetime(2026, 12, 3, 11, 0, tzinfo=UTC))


def test_the_amount_stays_a_decimal_at_four_places():
    # given an amount written with one decimal
    # when the model reads it
    amount = parse(GOOD, PROVIDERS, NOW).amount
    # then it is a Decimal with exactly four decimal places, never a float
    assert type(amount) is Decimal
    assert amount.as_tuple().exponent == -4


def test_left_out_optional_fields_take_their_defaults():
    # given a registration without player_ref and sent_at
    given = {key: value for key, value in GOOD.items() if key not in ("player_ref", "sent_at")}
    # when the model reads it
    registration = parse(given, PROVIDERS, NOW)
    # then the reference is absent and the time is now
    assert registration.player_ref is None
    assert registration.sent_at == NOW


def test_it_becomes_the_transfer_the_engine_works_on():
    # given a read registration
    registration = parse(GOOD, PROVIDERS, NOW)
    # when it is turned into the engine's reference
    ref = registration.transfer_ref()
    # then the facts are the same
    assert (ref.provider, ref.tx_id, ref.amount, ref.currency) == ("scripted-a", "tx-1",
                                                                   Decimal("10.5000"), "USD")


@pytest.mark.parametrize(("field", "value", "message"), [
    ("provider", "nope", "unknown provider instance 'nope' (configured: scripted-a, "
                         "scripted-eur)"),
    ("provider", 7, "must be a string, not a number"),
    ("tx_id", "", "is required"),
    ("tx_id", "x" * 129, "is 129 characters long; at most 128 allowed"),
    ("direction", "sideways", "must be deposit or withdraw"),
    ("player_id", "caf\u00e9", "must be printable ASCII (letters, digits, punctuation, "
                               "spaces); no control characters"),
    ("player_ref", "a\x00b", "must be printable ASCII (letters, digits, punctuation, "
                             "spaces); no control characters"),
    ("amount", "-1", "must be positive, got -1"),
    ("amount", 12.5, 'must be a plain decimal string such as "25.00" (digits, optional point, '
                     'at most 4 decimals), not a number'),
    ("currency", "U", "must be 3 to 10 ASCII letters or digits, starting with a letter, such "
                      "as USD; got 'U'"),
    ("sent_at", "2026-12-03T11:00:00", "must carry a time zone, such as 2026-01-31T12:00:00Z"),
    ("sent_at", "2026-12-04T12:00:00Z", "2026-12-04T12:00:00+00:00 is in the future"),
])
def test_each_bad_field_is_refused_naming_it(field, value, message):
    # given a registration wrong in one field
    given = {**GOOD, field: value}
    # when the model reads it
    with pytest.raises(InvalidInput) as refused:
        parse(given, PROVIDERS, NOW)
    # then the one refusal names that field, in the words callers have always read
    assert (refused.value.field, refused.value.message) == (field, message)


def test_a_missing_required_field_is_named():
    # given a registration without its amount
    given = {key: value for key, value in GOOD.items() if key != "amount"}
    # when the model reads it
    with pytest.raises(InvalidInput) as refused:
        parse(given, PROVIDERS, NOW)
    # then the amount is named as required
    assert str(refused.value) == "amount: is required"


def test_a_currency_the_instance_does_not_deal_in_is_refused():
    # given a provider instance limited to EUR, handed a USD transfer
    given = {**GOOD, "provider": "scripted-eur"}
    # when the model reads it
    with pytest.raises(InvalidInput) as refused:
        parse(given, PROVIDERS, NOW)
    # then the currency is named
    assert refused.value.field == "currency"
    assert "is not dealt in by provider instance 'scripted-eur'" in refused.value.message


def test_the_first_field_in_checking_order_is_the_one_named():
    # given a registration wrong in its sent_at, its tx_id and its amount
    given = {**GOOD, "sent_at": "yesterday", "tx_id": "", "amount": "1e3"}
    # when the model reads it
    with pytest.raises(InvalidInput) as refused:
        parse(given, PROVIDERS, NOW)
    # then the amount is named: it is checked before the ids and the time
    assert refused.value.field == "amount"


@pytest.mark.parametrize(("raw", "field"), [
    (["not", "an", "object"], "payload"),
    ({**GOOD, "colour": "red"}, "colour"),
])
def test_the_shape_is_checked_before_any_field(raw, field):
    # given something that is not an object of known fields
    # when the model reads it
    with pytest.raises(InvalidInput) as refused:
        parse(raw, PROVIDERS, NOW)
    # then the refusal names the payload or the unknown field
    assert refused.value.field == field
