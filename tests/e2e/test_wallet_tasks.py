"""The wallet's side: tasks sent by name, as from a project that does not import this one."""

from __future__ import annotations

import time

import pytest
from celery import Celery
from celery.contrib.testing.worker import start_worker

from tests.integration.support import entries, events, request
from worker.process.celery_app import app
from worker.process.db import transaction

pytestmark = pytest.mark.e2e


def wait_for(predicate, timeout_s: float = 10.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def transfer_state(engine, tx_id: str) -> str | None:
    from sqlalchemy import select

    from models import Transfer

    with transaction(engine) as session:
        return session.execute(select(Transfer.state).where(Transfer.tx_id == tx_id)).scalar()


def test_register_begin_and_complete_by_task_name(runtime, engine):
    # given a wallet
    # Knows only the broker and the names, not even the intake queue: the messages land on the
    # default queue, which a worker started without -Q consumes as well.
    wallet = Celery("wallet", broker=runtime.settings.redis_url)
    with start_worker(app, pool="threads", concurrency=2, perform_ping_check=False,
                      loglevel="WARNING", shutdown_timeout=10):
        # when it sends the tasks by name
        wallet.send_task("resolver.register_transfer", args=[request(tx_id="timed-out")])
        wallet.send_task("resolver.register_transfer", args=[request(tx_id="timed-out")])
        wallet.send_task("resolver.begin_transfer", args=[request(tx_id="write-ahead")],
                         kwargs={"deadline_s": 60})
        wait_for(lambda: transfer_state(engine, "write-ahead") == "in_flight")
        wallet.send_task("resolver.complete_transfer",
                         args=["scripted-a", "write-ahead", "succeeded"])
        wait_for(lambda: transfer_state(engine, "write-ahead") == "succeeded")
        wait_for(lambda: transfer_state(engine, "timed-out") == "pending")

    # then
    with transaction(engine) as session:
        from sqlalchemy import select

        from models import Transfer

        rows = {t.tx_id: t for t in session.execute(select(Transfer)).scalars()}
    assert set(rows) == {"timed-out", "write-ahead"}  # registered twice, stored once
    assert rows["write-ahead"].resolved_by == "caller:wallet"
    assert [kind for kind, *_ in entries(engine, rows["write-ahead"].id)] == ["hold", "settle"]
    assert [e.type for e in events(engine, rows["write-ahead"].id)] == ["transfer.resolved"]
