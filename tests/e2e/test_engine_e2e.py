"""End to end: a real Celery worker, the sweep and the relay against a scripted provider.

Given transfers whose provider will answer in different ways, when the sweep runs until
nothing is left to decide, then every transfer reached the right state, every check was
recorded, the ledger holds exactly the expected postings and sums to zero, and the stream
carries one event per resolution.
"""

from __future__ import annotations

import json
import time
from datetime import timedelta
from decimal import Decimal

import pytest
from celery.contrib.testing.worker import start_worker
from sqlalchemy import func, select

from models import Check, Transfer
from tests.conftest import scripted_instance
from tests.integration.support import entries, load, register
from worker.domain.policy import Policy
from worker.domain.types import Outcome
from worker.engine.resolve import ledger
from worker.process import tasks
from worker.process.celery_app import app
from worker.process.db import transaction
from worker.providers.scripted import SCRIPTS

pytestmark = pytest.mark.e2e

P, S, F, M = Outcome.PENDING, Outcome.SUCCEEDED, Outcome.FAILED, Outcome.MISMATCH


def unsettled(engine) -> int:
    with transaction(engine) as session:
        return session.execute(
            select(func.count()).select_from(Transfer)
            .where(Transfer.state.in_(("pending", "in_flight")))
        ).scalar_one()


def checks_per_transfer(engine) -> dict[int, list[str]]:
    with transaction(engine) as session:
        rows = session.execute(select(Check.transfer_id, Check.outcome).order_by(Check.id)).all()
    found: dict[int, list[str]] = {}
    for transfer_id, outcome in rows:
        found.setdefault(transfer_id, []).append(outcome)
    return found


def test_the_engine_settles_every_kind_of_answer(runtime, engine, redis_client):
    # given
    ids = {
        "slow-success": register(runtime, tx_id="slow-success", amount="25.50"),
        "failed": register(runtime, tx_id="failed", amount="5"),
        "never-found": register(runtime, tx_id="never-found", amount="7.7"),
        "mismatch": register(runtime, tx_id="mismatch", amount="3"),
        "withdraw": register(runtime, tx_id="withdraw", direction="withdraw", amount="12"),
    }
    SCRIPTS.load("scripted-a", "slow-success", [P, P, S])
    SCRIPTS.load("scripted-a", "failed", [F])
    SCRIPTS.load("scripted-a", "mismatch", [M])
    SCRIPTS.load("scripted-a", "withdraw", [P, S])

    # when a worker takes check messages from the broker while the sweep and relay run
    with start_worker(app, pool="threads", concurrency=4, perform_ping_check=False,
                      loglevel="WARNING", shutdown_timeout=10):
        deadline = time.monotonic() + 30
        while unsettled(engine) and time.monotonic() < deadline:
            tasks.sweep_due()
            time.sleep(0.1)
        tasks.relay_events()
    assert unsettled(engine) == 0

    # then the final states
    states = {name: load(engine, transfer_id).state for name, transfer_id in ids.items()}
    assert states == {"slow-success": "succeeded", "failed": "failed", "never-found": "failed",
                      "mismatch": "needs_review", "withdraw": "succeeded"}

    # the checks recorded
    checks = checks_per_transfer(engine)
    assert checks[ids["slow-success"]] == ["PENDING", "PENDING", "SUCCEEDED"]
    assert checks[ids["failed"]] == ["FAILED"]
    assert checks[ids["mismatch"]] == ["MISMATCH"]
    assert checks[ids["withdraw"]] == ["PENDING", "SUCCEEDED"]
    never_found = checks[ids["never-found"]]
    assert set(never_found) == {"NOT_FOUND"} and len(never_found) >= 2
    gone = load(engine, ids["never-found"])
    assert gone.resolved_at - gone.sent_at >= timedelta(seconds=1)  # not before the grace

    # exact ledger postings
    transit, settled, player = "transit:scripted-a", "settled:scripted-a", "player:player-7"
    assert entries(engine, ids["slow-success"]) == [
        ("hold", player, transit, Decimal("25.5")), ("settle", transit, settled, Decimal("25.5"))]
    assert entries(engine, ids["failed"]) == [
        ("hold", player, transit, Decimal("5")), ("refund", transit, player, Decimal("5"))]
    assert entries(engine, ids["never-found"]) == [
        ("hold", player, transit, Decimal("7.7")), ("refund", transit, player, Decimal("7.7"))]
    assert entries(engine, ids["mismatch"]) == [("hold", player, transit, Decimal("3"))]
    assert entries(engine, ids["withdraw"]) == [("payout", settled, player, Decimal("12"))]
    with transaction(engine) as session:
        assert ledger.currency_totals(session) == {"USD": Decimal(0)}

    # one event per resolution on the stream
    published = [json.loads(fields[b"event"])
                 for _, fields in redis_client.xrange(runtime.settings.events_stream)]
    by_subject = {}
    for event in published:
        by_subject.setdefault(int(event["subject"]), []).append(event["type"])
    assert by_subject == {
        ids["slow-success"]: ["transfer.resolved"],
        ids["failed"]: ["transfer.resolved"],
        ids["never-found"]: ["transfer.resolved"],
        ids["mismatch"]: ["transfer.needs_review"],
        ids["withdraw"]: ["transfer.resolved"],
    }
    assert len({event["id"] for event in published}) == len(published)


def test_lost_messages_are_found_again_when_the_lease_runs_out(runtime, engine, redis_client):
    """Redis restarting empty drops every queued check; Postgres still knows what is due."""
    # given a transfer claimed, whose check message Redis lost
    transfer_id = register(runtime, tx_id="lost")
    SCRIPTS.load("scripted-a", "lost", [S])
    tasks.sweep_due()  # claims it and sends a check message...
    redis_client.flushdb()  # ...which Redis loses
    leased = load(engine, transfer_id)
    assert leased.lease_token is not None

    # when a worker starts
    with start_worker(app, pool="threads", concurrency=2, perform_ping_check=False,
                      loglevel="WARNING", shutdown_timeout=10):
        # when / then nothing is claimed while the lease holds
        tasks.sweep_due()  # still leased: nothing to claim yet
        time.sleep(0.3)
        assert load(engine, transfer_id).state == "pending"
        # when the sweep goes on until the lease has run out
        deadline = time.monotonic() + runtime.settings.lease_s + 10
        while load(engine, transfer_id).state == "pending" and time.monotonic() < deadline:
            tasks.sweep_due()
            time.sleep(0.2)
    # then it was settled, by one call
    assert load(engine, transfer_id).state == "succeeded"
    assert SCRIPTS.queries[("scripted-a", "lost")] == 1


def test_a_free_slot_takes_the_next_due_transfer_without_waiting_for_a_sweep(runtime, engine):
    # given ten due transfers of an instance that allows two checks at a time
    runtime.providers = {"scripted-a": scripted_instance(
        policy=Policy(initial_delay=timedelta(0), concurrency=2, rate_limit_per_s=1000))}
    ids = [register(runtime, tx_id=f"tx-{n}") for n in range(10)]
    for n in range(10):
        SCRIPTS.load("scripted-a", f"tx-{n}", [S])

    # when a single sweep runs (it can claim only two)
    with start_worker(app, pool="threads", concurrency=4, perform_ping_check=False,
                      loglevel="WARNING", shutdown_timeout=10):
        assert tasks.sweep_due()["scripted-a"] == 2
        deadline = time.monotonic() + 10
        while unsettled(engine) and time.monotonic() < deadline:
            time.sleep(0.1)

    # then the two slots went on to the other eight by themselves
    assert {load(engine, transfer_id).state for transfer_id in ids} == {"succeeded"}
