"""The documented contract is complete and consistent: a schema and an example per type."""

from __future__ import annotations

import copy

import jsonschema
import pytest

from tests.unit.events.schemas import DOCS, example, problems, schemas
from worker.engine.resolve import events


def engine_event_types() -> set[str]:
    # Every event type constant the engine defines, so a new one cannot go undocumented.
    return {value for name, value in vars(events).items()
            if name.isupper() and isinstance(value, str) and value.startswith("transfer.")}


def test_every_engine_event_type_has_a_schema_and_an_example():
    # when / then
    assert engine_event_types() == set(schemas())
    for event_type in schemas():
        assert (DOCS / f"{event_type}.example.json").is_file()


@pytest.mark.parametrize("event_type", sorted(schemas()))
def test_each_schema_is_valid_and_its_example_conforms(event_type):
    # when / then
    jsonschema.Draft202012Validator.check_schema(schemas()[event_type])
    assert schemas()[event_type]["properties"]["type"]["const"] == event_type
    assert problems(example(event_type)) == []


@pytest.mark.parametrize("mutate", [
    lambda e: e["data"].update(amount=25.5),  # money is never a JSON number
    lambda e: e["data"].update(amount="25.50"),  # always four decimals
    lambda e: e["data"].pop("tx_id"),
    lambda e: e["data"].update(surprise=1),  # nothing undocumented
    lambda e: e.update(specversion="0.3"),
    lambda e: e.update(time="yesterday"),
    lambda e: e["data"].update(outcome="needs_review"),
    lambda e: e["data"].update(resolved_at=None),
])
def test_the_resolved_schema_refuses_what_the_contract_excludes(mutate):
    # given
    event = copy.deepcopy(example("transfer.resolved"))
    # when
    mutate(event)
    # then
    assert problems(event)


def test_needs_review_is_not_final():
    # given
    event = copy.deepcopy(example("transfer.needs_review"))
    # when it carries a resolved_at
    event["data"]["resolved_at"] = event["time"]
    # then
    assert problems(event)
