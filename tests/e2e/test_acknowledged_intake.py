"""Acknowledged intake, from the wallet's side: examples/wallet_intake.py against a real worker.

The wallet counts a transfer as handed over only once the resolver's reply says it is committed;
a message the broker lost is sent again until that reply comes.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from celery.contrib.testing.worker import start_worker
from sqlalchemy import select

from models import LedgerEntry, OutboxEvent, Transfer
from tests.e2e.test_wallet_tasks import wait_for
from tests.integration.events.examples import load_example
from tests.integration.support import count, events, request
from worker.domain.policy import PollState
from worker.domain.types import Direction, TransferRef
from worker.engine.resolve.resolution import send_to_review
from worker.engine.sweep import due
from worker.process.celery_app import DEFAULT_QUEUE, INTAKE_QUEUE, app
from worker.process.db import transaction
from worker.process.tasks import dispatch_checks

pytestmark = pytest.mark.e2e

wallet_intake = load_example("wallet_intake")


@contextmanager
def resolver_worker(queues: list[str] | None = None) -> Iterator[None]:
    options = {"queues": queues} if queues else {}
    try:
        with start_worker(app, pool="threads", concurrency=2, perform_ping_check=False,
                          loglevel="WARNING", shutdown_timeout=10, **options):
            yield
    finally:
        # A worker given queues narrows the app's own list: give the next worker all of them.
        app.amqp.queues.select(list(app.amqp.queues))


@pytest.fixture
def wallet(runtime):
    # The wallet knows only the broker and where replies are: here the tests' Redis database.
    return wallet_intake.connect(runtime.settings.broker, runtime.settings.results)


def in_background(wallet, handovers, **timing) -> threading.Thread:
    thread = threading.Thread(target=wallet_intake.hand_over, args=(wallet, handovers),
                              kwargs=timing, daemon=True)
    thread.start()
    return thread


def stored(engine) -> dict[str, tuple[int, str]]:
    with transaction(engine) as session:
        rows = session.execute(select(Transfer.tx_id, Transfer.id, Transfer.state)).all()
    return {tx_id: (transfer_id, state) for tx_id, transfer_id, state in rows}


def test_registrations_the_broker_lost_land_once_the_wallet_resends(runtime, engine, wallet,
                                                                     redis_client):
    # given no worker runs, and the wallet hands over five timed-out transfers
    handovers = [wallet_intake.register(request(tx_id=f"wiped-{n}")) for n in range(5)]
    thread = in_background(wallet, handovers, wait_s=0.5, max_wait_s=1.0, tries=30)
    wait_for(lambda: redis_client.llen(INTAKE_QUEUE) >= 5)

    # when Redis comes back empty, and only then a worker starts
    redis_client.flushdb()
    with resolver_worker():
        thread.join(30)

    # then every one was acknowledged, by a resend, and is committed under the acknowledged id
    assert not thread.is_alive()
    assert [h.accepted for h in handovers] == [True] * 5
    assert all(h.sent >= 2 for h in handovers)  # each first message went with the broker
    rows = stored(engine)
    assert {h.reply["tx_id"]: (h.reply["id"], h.reply["state"]) for h in handovers} == rows
    assert set(rows) == {f"wiped-{n}" for n in range(5)}


def test_a_refusal_reaches_the_wallet_with_its_field_and_message(runtime, engine, wallet):
    def hand_over(*handovers):
        return wallet_intake.hand_over(wallet, list(handovers), wait_s=3.0, tries=3)

    # given a registered transfer, one that failed and one in review
    with resolver_worker():
        [kept, in_review] = hand_over(wallet_intake.register(request(tx_id="kept")),
                                      wallet_intake.register(request(tx_id="review")))
        hand_over(wallet_intake.begin(request(tx_id="lost"), 60))
        [failed] = hand_over(wallet_intake.complete("scripted-a", "lost", "failed"))
        with transaction(engine) as session:
            send_to_review(session, session.get_one(Transfer, in_review.reply["id"]),
                           reason="amount disputed", by="engine", now=datetime.now(UTC))
        written = [count(engine, model) for model in (Transfer, LedgerEntry, OutboxEvent)]

        # when the wallet sends what must be refused
        invalid, conflicting, contradicting, reviewed = hand_over(
            wallet_intake.register(request(tx_id="bad", amount="-5")),
            wallet_intake.register(request(tx_id="kept", amount="99.00")),
            wallet_intake.complete("scripted-a", "lost", "succeeded"),
            wallet_intake.complete("scripted-a", "review", "succeeded"),
        )

    # then each refusal comes back as the reply, at the first try
    refusals = (invalid, conflicting, contradicting, reviewed)
    assert kept.accepted and kept.reply["created"] is True and kept.reply["amount"] == "10.0000"
    assert failed.accepted and failed.reply["state"] == "failed"
    assert [h.refused for h in refusals] == [True] * 4
    assert [h.sent for h in refusals] == [1] * 4
    assert (invalid.reply["error"], invalid.reply["field"]) == ("invalid", "amount")
    assert invalid.reply["message"]
    assert conflicting.reply["error"] == "conflict"
    assert conflicting.reply["field"] == "amount"
    assert "amount" in conflicting.reply["message"]
    assert (contradicting.reply["error"], contradicting.reply["field"]) == ("conflict", "outcome")
    assert "failed" in contradicting.reply["message"]
    assert (reviewed.reply["error"], reviewed.reply["field"]) == ("conflict", None)
    assert "needs_review" in reviewed.reply["message"]
    # ...and nothing changed: no transfer, no posting; only the contradiction is announced
    transfers, postings, announced = written
    assert [count(engine, model) for model in (Transfer, LedgerEntry, OutboxEvent)] == [
        transfers, postings, announced + 1]
    assert [e.type for e in events(engine, failed.reply["id"])] == [
        "transfer.resolved", "transfer.contradicted"]
    assert stored(engine) == {"kept": (kept.reply["id"], "pending"),
                              "review": (in_review.reply["id"], "needs_review"),
                              "lost": (failed.reply["id"], "failed")}


def test_an_intake_worker_registers_while_checks_wait_on_their_own_queue(runtime, engine, wallet,
                                                                         redis_client):
    # given a check is waiting on the default queue and a registration is on its way
    now = datetime.now(UTC)
    ref = TransferRef("scripted-a", "waiting", Direction.DEPOSIT, "p-1", None, Decimal("1"), "USD",
                      now)
    dispatch_checks([due.Claim(transfer_id=1, lease_token=uuid.uuid4(), provider="scripted-a",
                                 ref=ref, poll=PollState(now, 0, 0), lease_until=now)])
    [handover] = handovers = [wallet_intake.register(request(tx_id="routed"))]
    thread = in_background(wallet, handovers, wait_s=0.5, max_wait_s=1.0, tries=20)
    wait_for(lambda: redis_client.llen(INTAKE_QUEUE) >= 1)
    assert redis_client.llen(DEFAULT_QUEUE) == 1

    # when a worker that serves only intake starts
    with resolver_worker(queues=[INTAKE_QUEUE]):
        thread.join(20)

        # then the registration is acknowledged and committed; the check was not taken
        assert handover.accepted and handover.sent == 1
        assert stored(engine) == {"routed": (handover.reply["id"], "pending")}
        assert redis_client.llen(DEFAULT_QUEUE) == 1


def test_the_example_tells_accepted_refused_and_unanswered_apart_by_exit_status(runtime, capsys):
    def run(*extra: str) -> int:
        return wallet_intake.main(["--broker", runtime.settings.broker, "--backend",
                                   runtime.settings.results,
                                   "--provider", "scripted-a", *extra])

    # when / then with no worker yet, the example gives up with status 1
    assert run("--tx-id", "cli-early", "--wait", "0.2", "--tries", "2") == 1
    assert "not acknowledged after 2 tries" in capsys.readouterr().err

    # given a worker
    with resolver_worker():
        # when / then an accepted registration prints the reply
        assert run("--tx-id", "cli-1", "--amount", "12.5", "--wait", "3", "--tries", "3") == 0
        reply = json.loads(capsys.readouterr().out)
        # when / then a refused one exits 2 and names its field
        assert run("--tx-id", "cli-2", "--amount", "0", "--wait", "3", "--tries", "3") == 2
        refusal = capsys.readouterr().err
    # then
    assert reply["ok"] is True and reply["tx_id"] == "cli-1" and reply["amount"] == "12.5000"
    assert refusal.startswith("refused (invalid): amount: ")


def test_a_task_that_fails_is_not_taken_for_an_answer(runtime, engine, wallet):
    # given a call the resolver cannot run (the payload is missing)
    broken = wallet_intake.Handover("resolver.register_transfer", [])
    first_id = broken.task_id

    # when the wallet hands it over
    with resolver_worker():
        wallet_intake.hand_over(wallet, [broken], wait_s=1.0, max_wait_s=1.0, tries=2)

    # then it is neither accepted nor refused; each copy went under a fresh id, so the stored
    # failure of one never answered the next
    assert broken.reply is None and broken.sent == 2
    assert broken.problem.startswith("the resolver could not record it")
    assert broken.task_id != first_id
    assert count(engine, Transfer) == 0
