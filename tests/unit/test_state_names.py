"""The admin API names the states from the one enum, in its order, so a new state is one edit."""

from __future__ import annotations

import pytest

from worker.admin.bulk_api import BulkFilter
from worker.admin.manual import ResolveBody
from worker.admin.schemas import CauseGroupOut, TransferOut
from worker.domain.refusal import InvalidInput
from worker.domain.types import (
    ACTIONABLE_STATES,
    ALL_STATES,
    FINAL_STATES,
    OPEN_STATES,
    State,
    final_outcome,
)


def enum_of(model, field: str) -> list[str]:
    return model.model_json_schema()["properties"][field]["enum"]


def test_the_state_lists_follow_the_enum():
    # then
    assert ALL_STATES == ("in_flight", "pending", "needs_review", "succeeded", "failed")
    assert OPEN_STATES == ("in_flight", "pending", "needs_review")
    assert FINAL_STATES == ("succeeded", "failed")
    assert ACTIONABLE_STATES == ("pending", "needs_review")
    assert set(OPEN_STATES) | set(FINAL_STATES) == {state.value for state in State}


def test_the_api_shapes_list_the_states_in_the_enums_order():
    # when / then
    assert enum_of(TransferOut, "state") == list(ALL_STATES)
    assert enum_of(ResolveBody, "outcome") == list(FINAL_STATES)
    assert enum_of(CauseGroupOut, "state") == list(ACTIONABLE_STATES)
    assert enum_of(BulkFilter, "state") == [*ACTIONABLE_STATES, "open"]


@pytest.mark.parametrize("value", ["pending", "needs_review", "SUCCEEDED", "", None, 1])
def test_only_a_final_state_is_an_outcome(value):
    # when / then anything but succeeded or failed is refused, naming the outcome
    with pytest.raises(InvalidInput, match=r"^outcome: must be succeeded or failed$"):
        final_outcome(value)


def test_a_final_state_is_its_outcome():
    # when / then
    assert [final_outcome(value) for value in FINAL_STATES] == [State.SUCCEEDED, State.FAILED]
