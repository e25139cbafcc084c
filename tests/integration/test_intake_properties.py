"""Generated requests, thousands per way in (Python call, task, HTTP API, command line):

- a request with one thing wrong is refused naming exactly that field, and writes nothing;
- a valid request is accepted with its amount stored exactly as written and its currency in
  upper case, and the same request again is recognized (created false, no second row).

One database per test, shared by its examples (refusals must leave it as it was; accepted
requests each have a tx_id of their own).
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import scripted_instance
from tests.integration.intake_payloads import (
    ASCII_SPACES,
    MAX_DEADLINE_S,
    invalid_cases,
    send,
    valid_cases,
)
from tests.integration.intake_ways import Cli, Function, Http, Task, count_written, written
from tests.integration.support import load

# Thousands of examples each: more than the default per-test timeout allows on a busy machine.
pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]

# 2,000 generated requests per way in.
INVALID_EXAMPLES = 1700
VALID_EXAMPLES = 300
GENERATED = settings(deadline=None, suppress_health_check=[
    HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much,
    HealthCheck.data_too_large, HealthCheck.large_base_example])
WAYS = ["function", "task", "http", "cli"]


@pytest.fixture
def providers():
    return {"scripted-a": scripted_instance(),
            "scripted-eur": dataclasses.replace(scripted_instance("scripted-eur"),
                                                currencies=frozenset({"EUR", "USDT"}))}


@pytest.fixture(params=WAYS)
def way(request, runtime):
    chosen = {"function": lambda: Function(runtime), "task": Task, "http": lambda: Http(runtime),
              "cli": Cli}[request.param]()
    yield chosen
    if isinstance(chosen, Http):
        chosen.close()


@pytest.fixture
def begun(runtime, engine):
    """One transfer in flight, tx-1 (what a `complete` with one wrong field would otherwise
    settle); yields how to read what is written, and what is written now."""
    assert runtime.settings.max_in_flight_deadline_s == MAX_DEADLINE_S
    assert Function(runtime).begin({"provider": "scripted-a", "tx_id": "tx-1",
                                    "direction": "deposit", "player_id": "p", "amount": "1",
                                    "currency": "USD"}).accepted
    with engine.connect() as connection:
        yield lambda: count_written(connection), count_written(connection)


@settings(GENERATED, max_examples=INVALID_EXAMPLES)
@given(data=st.data())
def test_a_request_with_one_wrong_field_is_refused_naming_it(way, begun, data):
    # given
    now_written, before = begun
    case = data.draw(invalid_cases(way.name), label="case")

    # when
    answer = send(way, case)

    # then
    assert answer.field == case.field, answer
    # Not refused for want of a transfer under a tx_id that should not have been read at all
    assert not answer.message.startswith("no transfer"), answer
    assert now_written() == before


@settings(GENERATED, max_examples=VALID_EXAMPLES)
@given(data=st.data())
def test_a_valid_request_is_stored_exactly_and_only_once(way, engine, data):
    # given
    case = data.draw(valid_cases(way.name), label="case")
    rows_before = written(engine)[0]

    # when the same request is sent twice
    first = send(way, case)
    again = send(way, case)

    # then
    assert first.accepted and first.result["created"] is True, first
    assert again.accepted and again.result["created"] is False, again
    assert again.result["id"] == first.result["id"]
    assert written(engine)[0] == rows_before + 1
    transfer = load(engine, first.result["id"])
    payload = case.payload
    assert transfer.amount == Decimal(payload["amount"].strip(ASCII_SPACES))
    assert transfer.currency == payload["currency"].strip(ASCII_SPACES).upper()
    assert transfer.tx_id == payload["tx_id"].strip(ASCII_SPACES)
    assert transfer.state == ("pending" if case.op == "register" else "in_flight")
