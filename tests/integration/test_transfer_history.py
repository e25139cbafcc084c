"""The logs of one transfer tell its history: grep its id and read it from intake to event."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from tests.integration.support import make_due, register, request
from worker.admin import actions
from worker.domain.types import Outcome
from worker.engine.check.batch import NoGuard, run_batch
from worker.engine.intake import service
from worker.engine.intake.registration import ConflictError, Contradicted
from worker.engine.relay import publish
from worker.engine.sweep.due import claim_due, expire_in_flight
from worker.process import logs
from worker.providers.scripted import SCRIPTS

pytestmark = pytest.mark.integration


@pytest.fixture
def json_lines() -> Iterator[io.StringIO]:
    """The engine's lines as production writes them: JSON, through the handler `install` set."""
    stream = io.StringIO()
    logger = logging.getLogger("worker")
    handler = logging.StreamHandler(stream)
    saved = logger.level, logger.propagate
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    logs.install(logger, ["never-logged-secret"], as_json=True)
    try:
        yield stream
    finally:
        logger.removeHandler(handler)
        logger.setLevel(saved[0])
        logger.propagate = saved[1]


def history(stream: io.StringIO, transfer_id: int) -> list[dict]:
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    return [line for line in lines if line.get("transfer_id") == transfer_id]


def claim_and_check(runtime, engine) -> None:
    claims = claim_due(engine, runtime.providers["scripted-a"], datetime.now(UTC),
                       timedelta(seconds=30), limit=100)
    run_batch(engine, runtime.providers, claims, runtime.adapter_for, NoGuard(),
              jitter_draw=lambda: 0.0)


def test_grepping_a_transfer_id_tells_its_whole_story(runtime, engine, json_lines):
    # given a transfer the provider first says is pending, then succeeded
    transfer_id = register(runtime, tx_id="history-1")
    other = register(runtime, tx_id="history-2")
    SCRIPTS.load("scripted-a", "history-1", [Outcome.PENDING, Outcome.SUCCEEDED])
    SCRIPTS.load("scripted-a", "history-2", [Outcome.FAILED])

    # when it is claimed and checked twice, and its event is relayed
    make_due(engine)
    claim_and_check(runtime, engine)
    make_due(engine, transfer_id)
    claim_and_check(runtime, engine)
    publish.relay(runtime.engine, runtime.redis, runtime.settings.events_stream, 1000, 100)

    # then its lines, and only its, read from registration to the published event
    lines = history(json_lines, transfer_id)
    assert [line["event"] for line in lines] == [
        "transfer registered", "transfer checked", "transfer checked", "event published"]
    registered, first, second, published = lines
    assert all((line["provider"], line["tx_id"]) == ("scripted-a", "history-1") for line in lines)
    assert (registered["created"], registered["state"]) == (True, "pending")
    assert (first["outcome"], first["attempt"], first["decision"]) == ("PENDING", 1,
                                                                       "rescheduled")
    assert "next_check_at" in first
    assert (second["outcome"], second["attempt"], second["decision"], second["state"],
            second["by"]) == ("SUCCEEDED", 2, "resolved", "succeeded", "engine")
    assert (published["type"], published["outcome"]) == ("transfer.resolved", "succeeded")
    assert {"timestamp", "level", "logger"} <= set(published)
    # The other transfer's history is its own.
    assert [line["event"] for line in history(json_lines, other)] == [
        "transfer registered", "transfer checked", "event published"]


def test_the_write_ahead_story_and_its_refusals_are_told_too(runtime, engine, json_lines):
    # given a transfer begun before the provider call, and one begun and left to expire
    begun = service.begin(runtime, request(tx_id="wa-1"), by="wallet")["id"]
    left = service.begin(runtime, request(tx_id="wa-2"), by="wallet", deadline_s=1)["id"]

    # when the caller reports, contradicts itself, another request conflicts, one expires
    # and an admin settles the other by hand
    service.complete(runtime, "scripted-a", "wa-1", "succeeded", by="wallet")
    with pytest.raises(Contradicted):
        service.complete(runtime, "scripted-a", "wa-1", "failed", by="wallet")
    with pytest.raises(ConflictError):
        service.register(runtime, request(tx_id="wa-1", amount="11.00"), by="wallet")
    expire_in_flight(engine, datetime.now(UTC) + timedelta(seconds=5), limit=100)
    actions.resolve_by_hand(engine, left, "failed", actor="ops-ann", reason="provider says so")

    # then each transfer's lines tell it, each naming who acted
    lines = history(json_lines, begun)
    assert [(line["event"], line.get("outcome")) for line in lines] == [
        ("transfer begun", None), ("transfer resolved", "succeeded"),
        ("transfer contradiction recorded", "succeeded"), ("transfer refused", None)]
    assert lines[1]["by"] == "caller:wallet" and lines[2]["reported"] == "failed"
    assert lines[3]["conflict"] == "amount"
    assert all((line["provider"], line["tx_id"]) == ("scripted-a", "wa-1") for line in lines)
    assert [(line["event"], line.get("by")) for line in history(json_lines, left)] == [
        ("transfer begun", "wallet"), ("transfer expired from in flight", None),
        ("transfer resolved", "admin:ops-ann")]
