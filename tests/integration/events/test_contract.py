"""Every event the engine writes conforms to the documented schema of its type."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from models import Transfer
from tests.integration.events.support import check_due, outbox, relay_now, settle, transfer_id
from tests.integration.support import request
from tests.unit.events.schemas import problems, schemas
from worker.domain.types import Outcome, State
from worker.engine.intake import service
from worker.engine.intake.registration import Contradicted
from worker.engine.resolve import events
from worker.engine.resolve.resolution import resolve
from worker.process.db import transaction
from worker.providers.scripted import SCRIPTS

pytestmark = pytest.mark.integration


def every_kind_of_event(runtime) -> None:
    # by a status check: succeeded, failed, and handed to review; with and without player_ref
    settle(runtime, {"ok": Outcome.SUCCEEDED, "refused": Outcome.FAILED,
                     "odd": Outcome.MISMATCH})
    service.register(runtime, request(tx_id="wd", direction="withdraw", amount="0.0001",
                                  currency="USDT", player_ref="p7@prov"), by="test")
    SCRIPTS.load("scripted-a", "wd", [Outcome.SUCCEEDED])
    check_due(runtime)
    # reported by the wallet after a write-ahead begin
    service.begin(runtime, request(tx_id="told"), by="wallet")
    service.complete(runtime, "scripted-a", "told", "succeeded", by="wallet")
    # a caller contradicting a final state
    with pytest.raises(Contradicted):
        service.complete(runtime, "scripted-a", "told", "failed", by="wallet")
    # settled by an admin after review, through the one resolution path
    with transaction(runtime.engine) as session:
        reviewed = session.get_one(Transfer, transfer_id(runtime, "odd"), with_for_update=True)
        resolve(session, reviewed, State.FAILED, by="admin:alice",
                reason="provider support says it never arrived", now=datetime.now(UTC),
                event_type=events.MANUALLY_RESOLVED)


def test_every_event_in_the_outbox_and_on_the_stream_matches_its_schema(runtime, redis_client):
    # when every kind of event is written
    every_kind_of_event(runtime)
    # then
    written = [event.payload for event in outbox(runtime)]
    assert {event["type"] for event in written} == set(schemas())  # each schema exercised
    for event in written:
        assert problems(event) == [], event

    # when / then all are relayed
    assert relay_now(runtime) == len(written)
    # then the stream carries them unchanged
    published = [json.loads(fields[b"event"])
                 for _, fields in redis_client.xrange(runtime.settings.events_stream)]
    assert published == written
    for event in published:
        assert problems(event) == [], event


def test_the_stream_fields_agree_with_the_event(runtime, redis_client):
    # given
    settle(runtime, {"ok": Outcome.SUCCEEDED})
    # when
    relay_now(runtime)
    # then
    [(_, fields)] = redis_client.xrange(runtime.settings.events_stream)
    event = json.loads(fields[b"event"])
    [row] = outbox(runtime)
    assert fields[b"id"].decode() == event["id"] == str(row.id)
    assert fields[b"type"].decode() == event["type"]
    assert int(fields[b"seq"]) == row.seq
    assert fields[b"transfer_id"].decode() == event["subject"]
