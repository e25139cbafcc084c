"""Outbox sequence numbers follow commit order, so replay by `seq > N` never skips an event."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from models import OutboxEvent, Transfer
from tests.integration.support import register
from worker.engine.resolve import events
from worker.process.db import transaction

pytestmark = pytest.mark.integration


def write_event(engine, transfer_id: int, hold_open: threading.Event | None = None) -> None:
    with transaction(engine) as session:
        transfer = session.get_one(Transfer, transfer_id)
        events.record_event(session, events.NEEDS_REVIEW, transfer, "needs_review", "test",
                            datetime.now(UTC))
        if hold_open is not None:
            hold_open.wait(5)


def test_a_second_writer_waits_for_the_first_to_commit(runtime, engine):
    # given a first writer holding its seq, uncommitted
    first, second = register(runtime, tx_id="first"), register(runtime, tx_id="second")
    release = threading.Event()
    slow = threading.Thread(target=write_event, args=(engine, first, release))
    slow.start()
    time.sleep(0.3)  # the first writer holds its seq, uncommitted

    # when a second writer starts
    fast = threading.Thread(target=write_event, args=(engine, second))
    fast.start()
    fast.join(0.5)
    # then
    assert fast.is_alive(), "the second writer must not commit before the first"

    # when the first commits
    release.set()
    slow.join(5)
    fast.join(5)
    # then the events are in commit order
    with transaction(engine) as session:
        rows = session.execute(select(OutboxEvent.transfer_id).order_by(OutboxEvent.seq)).all()
    assert [row.transfer_id for row in rows] == [first, second]
