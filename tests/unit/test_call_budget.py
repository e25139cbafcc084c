"""How long one provider call may take: the instance's deadline, within half the lease left."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tests.conftest import scripted_instance
from worker.engine.check.batch import call_budget

INSTANCE = replace(scripted_instance(), deadline_s=12.0)


@pytest.mark.parametrize(("lease_left_s", "budget"), [
    (60.0, 12.0),  # a fresh default lease: the instance's deadline is the shorter
    (20.0, 10.0),  # a message that waited: half of what is left
    (5.0, 2.5),
    (2.0, 1.0),
])
def test_a_call_gets_the_instance_s_deadline_within_half_the_lease_left(lease_left_s, budget):
    # when / then
    assert call_budget(INSTANCE, lease_left_s) == budget


def test_with_under_two_seconds_of_lease_left_the_check_does_not_ask():
    # when / then
    assert call_budget(INSTANCE, 1.9) is None
    assert call_budget(INSTANCE, -3.0) is None


def test_an_instance_deadline_under_a_second_is_kept():
    # given
    quick = replace(INSTANCE, deadline_s=0.4)
    # when / then
    assert call_budget(quick, 60.0) == 0.4
