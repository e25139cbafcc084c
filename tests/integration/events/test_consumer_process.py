"""`resolver events consume` as a process: SIGTERM stops it cleanly, SIGKILL loses nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from tests.integration.events.support import (
    BackgroundConsumer,
    outbox,
    pending_count,
    relay_now,
    settle,
    wait_for,
)
from worker.domain.types import Outcome

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]


def start_consumer(runtime, log_key: str, **env: str) -> subprocess.Popen[str]:
    command = [sys.executable, "-c", "from worker.cli import main; main()", "events", "consume",
               "--group", "balance", "--stream", runtime.settings.events_stream, "--batch", "10",
               "--block-ms", "100", "--reclaim-idle-ms", "300",
               "--handler", "tests.integration.events.process_handlers:record"]
    environment = {**os.environ, "RESOLVER_REDIS_URL": runtime.settings.redis_url,
                   "TEST_RECORD_KEY": log_key, **env}
    return subprocess.Popen(command, cwd=ROOT, env=environment, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def log_of(runtime, key: str) -> list[str]:
    return [item.decode() for item in runtime.redis.lrange(key, 0, -1)]


def three_events(runtime) -> list[str]:
    settle(runtime, {"k0": Outcome.SUCCEEDED, "k1": Outcome.SUCCEEDED, "k2": Outcome.FAILED})
    relay_now(runtime)
    return [str(event.id) for event in outbox(runtime)]


def test_sigterm_finishes_the_event_in_hand_and_stops(runtime, redis_client):
    # given
    ids = three_events(runtime)
    # when
    child = start_consumer(runtime, "log", TEST_HANDLER_SECONDS="0.5")
    try:
        wait_for(lambda: log_of(runtime, "log")[:1] == [f"start:{ids[0]}"], timeout=20)
        child.send_signal(signal.SIGTERM)
        _, stderr = child.communicate(timeout=10)
    finally:
        child.kill()
    # then
    assert child.returncode == 0, stderr
    assert "stopped:" in stderr
    # the event in hand was finished and acknowledged; the rest stay pending for the group
    assert log_of(runtime, "log") == [f"start:{ids[0]}", f"done:{ids[0]}"]
    assert pending_count(runtime, "balance") == 2


def test_sigkill_mid_handler_leaves_the_event_to_another_consumer(runtime, redis_client):
    # given
    ids = three_events(runtime)
    # when the consumer is killed mid-handler
    child = start_consumer(runtime, "log", TEST_HANG_ON="k1")
    try:
        wait_for(lambda: f"start:{ids[1]}" in log_of(runtime, "log"), timeout=20)
        child.send_signal(signal.SIGKILL)
        child.communicate(timeout=10)
    finally:
        child.kill()
    # then
    assert pending_count(runtime, "balance") == 2  # the event it died on, and the one after

    # when another consumer of the group runs
    done_by_b: list[str] = []
    with BackgroundConsumer(runtime, "balance", lambda event: done_by_b.append(event.id),
                            consumer="b"):
        wait_for(lambda: len(done_by_b) == 2 and pending_count(runtime, "balance") == 0)
    # then
    done_by_child = [entry.removeprefix("done:") for entry in log_of(runtime, "log")
                     if entry.startswith("done:")]
    assert done_by_child == [ids[0]]
    # (the one it died on may come second: its busy marker outlives the idle time)
    assert sorted(done_by_b) == sorted(ids[1:])
    assert Counter(done_by_child + done_by_b) == Counter(ids)
