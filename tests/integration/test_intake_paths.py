"""Each case of the intake issue, sent every way a transfer comes in (Python call, Celery task,
HTTP API, command line): refused naming the field, nothing written; or, where the issue says
what must be accepted, accepted the same way everywhere."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from tests.conftest import scripted_instance
from tests.integration.intake_ways import Cli, Function, Http, Task, written
from tests.integration.support import load, request

pytestmark = pytest.mark.integration

ALL = ["function", "task", "http", "cli"]
WRITE_AHEAD = ["function", "task", "cli"]  # the HTTP API has no begin or complete
PYTHON_VALUES = ["function", "task", "http"]  # the command line carries text only


@pytest.fixture
def providers():
    return {"scripted-a": scripted_instance(),
            "scripted-eur": dataclasses.replace(scripted_instance("scripted-eur"),
                                                currencies=frozenset({"EUR", "USDT"}))}


@pytest.fixture
def ways(runtime):
    """Every way in, by name; a test takes the ones that can carry its case."""
    http = Http(runtime)
    yield {"function": Function(runtime), "task": Task(), "http": http, "cli": Cli()}
    http.close()


def by_of(way):
    """The `by` a way sends when the test does not care: over HTTP the token names it."""
    return None if way.name == "http" else "test"


def refused_by_each(ways, names, engine, send, field, *, message=""):
    """`send(way)` through each named way: refused naming `field`, nothing written."""
    for name in names:
        before = written(engine)
        answer = send(ways[name])
        assert answer.field == field, (name, answer)
        assert message in answer.message, (name, answer)
        assert written(engine) == before, name


# Issue point 7: what crashed

def test_an_amount_with_25_integer_digits_and_more_than_4_decimals(ways, engine):
    # when / then
    refused_by_each(ways, ALL, engine, lambda way: way.register(
        request(amount="1234567890123456789012345.123456"), by=by_of(way)),
        "amount", message="more than 16 integer digits")


def test_a_5000_digit_amount(ways, engine):
    # when / then
    refused_by_each(ways, ALL, engine,
                    lambda way: way.register(request(amount="9" * 5000), by=by_of(way)),
                    "amount", message="5000 characters long")


def test_by_longer_than_128_characters(ways, engine):
    for name in WRITE_AHEAD:
        # when / then 129 characters are refused by register and begin
        refused_by_each(ways, [name], engine,
                        lambda way, name=name: way.register(request(tx_id=name), by="w" * 129),
                        "by", message="at most 120 allowed")
        refused_by_each(ways, [name], engine,
                        lambda way, name=name: way.begin(request(tx_id=name), by="w" * 129), "by")
        # when / then 120 are accepted by begin
        assert ways[name].begin(request(tx_id=name), by="w" * 120).accepted
        # when / then 129 are refused by complete
        refused_by_each(ways, [name], engine, lambda way, name=name: way.complete(
            "scripted-a", name, "failed", by="w" * 129), "by")
        # when complete is sent 120
        done = ways[name].complete("scripted-a", name, "failed", by="w" * 120)
        # then
        assert done.result["state"] == "failed", name


@pytest.mark.parametrize("payload", [None, [], [request()], 42, 12.5, "tx-1"],
                         ids=["none", "empty-list", "list", "int", "float", "string"])
def test_a_payload_that_is_none_a_list_or_a_number(ways, engine, payload):
    # when / then
    refused_by_each(ways, PYTHON_VALUES, engine,
                    lambda way: way.register(payload, by=by_of(way)), "payload",
                    message="must be an object with the transfer's fields")


# Issue point 7: accepted though not a plain decimal string

@pytest.mark.parametrize("amount", ["1E+15", "1e3", "2E-4", "1_000", "\u0661\u0660",
                                    "\uff11\uff10"],
                         ids=["1E+15", "1e3", "2E-4", "1_000", "arabic-indic", "fullwidth"])
def test_amounts_in_other_notations(ways, engine, amount):
    # when / then
    refused_by_each(ways, ALL, engine,
                    lambda way: way.register(request(amount=amount), by=by_of(way)),
                    "amount", message="plain decimal string")


def test_json_numbers_as_amounts(ways, engine):
    for amount in (12, 12.5, 1e15):
        # when / then
        refused_by_each(ways, PYTHON_VALUES, engine,
                        lambda way, amount=amount: way.register(request(amount=amount),
                                                                   by=by_of(way)),
                        "amount", message="not a number")


def test_currency_folding_of_usd_eszett(ways, engine):
    # when / then
    refused_by_each(ways, ALL, engine,
                    lambda way: way.register(request(currency="usd\u00df"), by=by_of(way)),
                    "currency", message="ASCII letters or digits")


def test_a_plain_amount_and_a_lower_case_currency_are_accepted(ways, engine):
    for name in ALL:
        # when
        answer = ways[name].register(request(tx_id=name, amount="12.5", currency="usd"),
                                     by=by_of(ways[name]))
        # then
        transfer = load(engine, answer.result["id"])
        assert (transfer.amount, transfer.currency) == (Decimal("12.5000"), "USD"), name


# Issue point 9: an instance's currencies

def test_a_currency_the_instance_does_not_deal_in(ways, engine):
    # when / then a currency the instance does not deal in is refused
    refused_by_each(ways, ALL, engine, lambda way: way.register(
        request(provider="scripted-eur", currency="USD"), by=by_of(way)),
        "currency", message="not dealt in by provider instance 'scripted-eur' "
                            "(allowed: EUR, USDT)")
    # when / then one it deals in is accepted every way
    for name in ALL:
        assert ways[name].register(request(tx_id=name, provider="scripted-eur", currency="eur"),
                                   by=by_of(ways[name])).accepted, name


# Issue point 6: the write-ahead deadline

@pytest.mark.parametrize("deadline_s", [1e9, float("inf"), float("nan"), 1e300, -5, 0, 3601],
                         ids=["1e9", "inf", "nan", "1e300", "negative", "zero", "past-max"])
def test_a_deadline_outside_zero_to_an_hour(ways, engine, deadline_s):
    # when / then
    refused_by_each(ways, WRITE_AHEAD, engine, lambda way: way.begin(
        request(), deadline_s=str(deadline_s) if way.name == "cli" else deadline_s),
        "deadline", message="more than 0 and at most 3600 seconds")


def test_a_deadline_that_is_not_a_number(ways, engine):
    for deadline_s in (True, "60"):
        # when / then
        refused_by_each(ways, ["function", "task"], engine,
                        lambda way, seconds=deadline_s: way.begin(request(), deadline_s=seconds),
                        "deadline",
                        message="must be a number of seconds")


def test_a_deadline_of_exactly_the_maximum_is_kept(ways, engine):
    for name in WRITE_AHEAD:
        # when
        before = datetime.now(UTC)
        begun = ways[name].begin(request(tx_id=name),
                                 deadline_s="3600" if name == "cli" else 3600)
        # then
        deadline = load(engine, begun.result["id"]).next_check_at
        hour = timedelta(seconds=3600)
        assert before + hour <= deadline <= datetime.now(UTC) + hour, name


def test_the_maximum_is_a_setting(runtime, engine):
    # given a maximum of 60 seconds
    shorter = Function(dataclasses.replace(runtime, settings=runtime.settings.model_copy(
        update={"max_in_flight_deadline_s": 60.0})))
    # when / then
    refused_by_each({"function": shorter}, ["function"], engine,
                    lambda way: way.begin(request(), deadline_s=61),
                    "deadline", message="at most 60 seconds")
    # when / then the maximum itself is accepted
    assert shorter.begin(request(), deadline_s=60).accepted


# complete takes its fields by the same rules

def test_complete_checks_its_fields(ways, engine):
    # given a transfer in flight
    assert ways["function"].begin(request()).accepted
    # when / then bad text is refused every way
    for args, field in [(("scripted-a", "tx-1\x00", "failed"), "tx_id"),
                        (("scripted-a", "t" * 129, "failed"), "tx_id"),
                        (("scripted-\u0430", "tx-1", "failed"), "provider")]:
        refused_by_each(ways, WRITE_AHEAD, engine,
                        lambda way, args=args: way.complete(*args), field)
    # when / then values of the wrong type are refused by the Python ways
    for args, field in [((["scripted-a"], "tx-1", "failed"), "provider"),
                        (("scripted-a", 7, "failed"), "tx_id"),
                        (("scripted-a", "tx-1", None), "outcome"),
                        (("scripted-a", "tx-1", "pending"), "outcome")]:
        refused_by_each(ways, ["function", "task"], engine,
                        lambda way, args=args: way.complete(*args), field)
