"""The four-eyes rule and the provider-amount postings, without I/O."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest

from tests.conftest import scripted_instance
from worker.admin.four_eyes import gate
from worker.domain.types import Direction
from worker.engine.resolve.ledger import provider_amount_moves
from worker.process.config_files import ConfigError
from worker.providers.config import parse_providers

EUR_1000 = dataclasses.replace(scripted_instance(), four_eyes_from=(("EUR", Decimal("1000")),))


@pytest.mark.parametrize(("amount", "provider_amount", "needed"), [
    ("999.9999", None, False),
    ("1000.0000", None, True),  # at the limit counts
    ("900", "1100", True),  # the larger of the two amounts is weighed
    ("1100", "900", True),
    ("900", "950", False),
])
def test_the_limit_is_weighed_against_the_larger_amount(amount, provider_amount, needed):
    # when
    decision = gate(EUR_1000, "EUR", Decimal(amount),
                    Decimal(provider_amount) if provider_amount else None)
    # then
    assert decision.needs_second_operator is needed


def test_a_missing_limit_fails_closed():
    # when / then
    assert gate(EUR_1000, "USD", Decimal("0.01")).needs_second_operator
    assert "sets no four-eyes limit for USD" in gate(EUR_1000, "USD", Decimal("1")).why
    # given an instance with no limits at all
    no_list = dataclasses.replace(EUR_1000, four_eyes_from=())
    # when / then
    assert gate(no_list, "EUR", Decimal("0.01")).needs_second_operator
    # when / then and with no instance
    assert gate(None, "EUR", Decimal("0.01")).needs_second_operator


def test_a_bulk_resolution_always_needs_a_second_operator():
    # when / then
    assert gate(EUR_1000, "EUR", Decimal("1"), bulk=True).needs_second_operator


def provider_file(four_eyes: object) -> dict[str, object]:
    return {"providers": {"lucko-main": {
        "kind": "lucko", "base_url": "https://api.example.test",
        "credentials": {"agent_id": "op", "key": "0123456789abcdef0123"},
        "four_eyes_from": four_eyes}}}


def test_the_limits_are_read_as_decimals_per_currency():
    # when
    parsed = parse_providers(provider_file({"eur": "1000.00", "USD": "250"}), "p.toml")
    # then
    assert parsed["lucko-main"].four_eyes_from == (("EUR", Decimal("1000.0000")),
                                                  ("USD", Decimal("250.0000")))


@pytest.mark.parametrize(("value", "named"), [
    ({"EUR": 1000.5}, "four_eyes_from.EUR"),
    ({"EUR": "1e3"}, "four_eyes_from.EUR"),
    ({"EUR": "-5"}, "four_eyes_from.EUR"),
    ({"€": "10"}, "four_eyes_from"),
    ("1000", "four_eyes_from"),
])
def test_a_wrong_limit_stops_start_up_naming_the_key(value, named):
    # when / then
    with pytest.raises(ConfigError, match=f"providers.lucko-main.{named}: "):
        parse_providers(provider_file(value), "p.toml")


@pytest.mark.parametrize(("direction", "ours", "theirs"), [
    (Direction.DEPOSIT, "100", "90"), (Direction.DEPOSIT, "100", "120"),
    (Direction.WITHDRAW, "100", "80"), (Direction.WITHDRAW, "100", "130"),
])
def test_the_postings_at_the_provider_amount_move_what_the_provider_recorded(
        direction, ours, theirs):
    # when
    moves = provider_amount_moves(direction, "p", "pl", Decimal(ours), Decimal(theirs))
    # given the hold a deposit made at registration
    net: dict[tuple[str, str], Decimal] = {}
    if direction is Direction.DEPOSIT:  # the hold at registration, at our amount
        net[("player", "pl")] = -Decimal(ours)
        net[("transit", "p")] = Decimal(ours)
    # when every posting is added up
    for _kind, source, target, amount in moves:
        net[source] = net.get(source, Decimal(0)) - amount
        net[target] = net.get(target, Decimal(0)) + amount
    # then
    assert sum(net.values()) == 0
    assert net.get(("transit", "p"), Decimal(0)) == 0  # nothing left in flight
    resolution = [move for move in moves if move[0] in ("settle", "payout")]
    assert [amount for *_, amount in resolution] == [Decimal(theirs)]
