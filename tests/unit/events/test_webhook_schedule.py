"""The escalating retry schedule."""

from __future__ import annotations

from datetime import timedelta

import pytest

from worker.process.settings import Settings
from worker.providers.config import ConfigError
from worker.webhooks.schedule import DEFAULT_SCHEDULE, parse_schedule, wait_after


def test_the_default_schedule_escalates_to_three_hours():
    # when
    steps = parse_schedule(DEFAULT_SCHEDULE)
    # then
    assert steps == (timedelta(seconds=10), timedelta(seconds=30), timedelta(minutes=2),
                     timedelta(minutes=10), timedelta(minutes=30), timedelta(hours=1),
                     timedelta(hours=3))
    assert list(steps) == sorted(steps)
    assert Settings().webhook_schedule == DEFAULT_SCHEDULE


def test_each_failure_waits_the_next_step_until_none_is_left():
    # given
    steps = parse_schedule("1s, 5s")
    # when / then
    assert wait_after(1, steps) == timedelta(seconds=1)
    assert wait_after(2, steps) == timedelta(seconds=5)
    assert wait_after(3, steps) is None
    with pytest.raises(ValueError):
        wait_after(0, steps)


@pytest.mark.parametrize("text", ["", " , ", "10s,soon", "-5s"])
def test_a_bad_schedule_is_a_config_error(text):
    # when / then
    with pytest.raises(ConfigError, match="RESOLVER_WEBHOOK_SCHEDULE"):
        parse_schedule(text)
