"""The sweep claims due transfers once, within each instance's concurrency, and leases them."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import create_engine, text

from tests.conftest import scripted_instance
from tests.integration.support import events, load, register
from worker.domain.policy import Policy
from worker.engine.sweep.due import claim_due, sweep

pytestmark = pytest.mark.integration
LEASE = timedelta(seconds=30)


def due_and_later(runtime, engine) -> tuple[int, int]:
    """Two pending transfers: one due now, one due in an hour."""
    due = register(runtime, tx_id="due")
    later = register(runtime, tx_id="later")
    with engine.begin() as connection:
        connection.execute(text("UPDATE transfers SET next_check_at = now() + interval '1 hour' "
                                "WHERE id = :id"), {"id": later})
    return due, later


def test_only_due_pending_transfers_are_claimed_and_leased(runtime, engine):
    # given
    due, _later = due_and_later(runtime, engine)
    now = datetime.now(UTC)
    # when
    claims = claim_due(engine, runtime.providers["scripted-a"], now, LEASE, limit=10)

    # then
    assert [claim.transfer_id for claim in claims] == [due]
    leased = load(engine, due)
    assert leased.lease_token == claims[0].lease_token
    assert leased.next_check_at == now + LEASE
    # when / then until the lease runs out the transfer is not due again
    assert claim_due(engine, runtime.providers["scripted-a"], now, LEASE, limit=10) == []
    # when / then once it has run out, it is claimed again with a new lease
    again = claim_due(engine, runtime.providers["scripted-a"], now + LEASE, LEASE, limit=10)
    assert [claim.transfer_id for claim in again] == [due]
    assert again[0].lease_token != claims[0].lease_token


def test_concurrency_caps_the_checks_under_way(runtime, engine):
    # given
    instance = scripted_instance(policy=Policy(initial_delay=timedelta(0), concurrency=3))
    for n in range(5):
        register(runtime, tx_id=f"tx-{n}")
    now = datetime.now(UTC)
    # when / then
    assert len(claim_due(engine, instance, now, LEASE, limit=100)) == 3
    assert claim_due(engine, instance, now, LEASE, limit=100) == []


def test_two_sweeps_at_once_claim_each_transfer_once(runtime, database_url):
    # given
    for n in range(200):
        register(runtime, tx_id=f"tx-{n}")
    now = datetime.now(UTC) + timedelta(seconds=1)
    instance = scripted_instance(policy=Policy(concurrency=1000))
    claimed: list[list[int]] = [[], []]
    start = threading.Barrier(2)

    def one_sweep(slot: int) -> None:
        # A separate engine per sweep: two processes' worth of connections.
        engine = create_engine(database_url)
        start.wait()
        for _ in range(4):
            sweep(engine, {"scripted-a": instance}, now, LEASE, limit=25,
                  dispatch=lambda claims: claimed[slot].extend(c.transfer_id for c in claims))
        engine.dispose()

    # when two sweeps run at once
    threads = [threading.Thread(target=one_sweep, args=(slot,)) for slot in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # then
    everything = claimed[0] + claimed[1]
    assert len(everything) == 200
    assert len(set(everything)) == 200
    # Four passes of 25 each: neither sweep came up short, neither took a row twice.
    assert len(claimed[0]) == len(claimed[1]) == 100


def test_transfers_of_a_removed_instance_go_to_review_and_come_back_on_recheck(runtime, engine):
    # given two pending transfers of an instance, one due and one not yet due
    due, later = due_and_later(runtime, engine)
    # when the instance is taken out of the providers file and the sweep runs
    dispatched: list = []
    counts = sweep(engine, {}, datetime.now(UTC), LEASE, limit=10, dispatch=dispatched.append)

    # then the due one is in review with a reason naming the instance, with its event; the other
    # waits for its time; nothing was dispatched
    assert counts["unconfigured_to_review"] == 1 and dispatched == []
    reviewed = load(engine, due)
    assert reviewed.state == "needs_review"
    assert "'scripted-a' is not configured" in (reviewed.review_reason or "")
    assert [e.type for e in events(engine, due)] == ["transfer.needs_review"]
    assert load(engine, later).state == "pending"

    # when the instance is back and an admin rechecks
    from worker.admin.actions import recheck

    recheck(engine, due, actor="admin:alice", reason="instance restored")
    counts = sweep(engine, runtime.providers, datetime.now(UTC), LEASE, limit=10,
                   dispatch=dispatched.append)
    # then the sweep claims it again
    assert counts["scripted-a"] == 1 and load(engine, due).state == "pending"


def test_one_pass_claims_every_instance_within_its_own_concurrency(runtime, engine):
    # given four due transfers at instance a (concurrency 2) and three at b (concurrency 5)
    providers = {
        "scripted-a": scripted_instance("scripted-a", Policy(initial_delay=timedelta(0),
                                                             concurrency=2)),
        "scripted-b": scripted_instance("scripted-b", Policy(initial_delay=timedelta(0),
                                                             concurrency=5)),
    }
    ids = [register(runtime, tx_id=f"tx-{n}", amount=f"{n + 1}.25") for n in range(7)]
    with engine.begin() as connection:
        connection.execute(text("UPDATE transfers SET provider = 'scripted-b' WHERE id > :id"),
                           {"id": ids[3]})
    dispatched: list[list] = []

    # when one sweep pass runs
    counts = sweep(engine, providers, datetime.now(UTC) + timedelta(seconds=1), LEASE, 100,
                   dispatch=dispatched.append)

    # then each instance got its own batch, as many as its concurrency allows
    assert (counts["scripted-a"], counts["scripted-b"]) == (2, 3)
    assert [{claim.provider for claim in batch} for batch in dispatched] == [
        {"scripted-a"}, {"scripted-b"}]
    # and every claim carries what its check asks the provider, read by the claim itself
    claim = dispatched[1][0]
    assert (claim.transfer_id, claim.ref.tx_id, str(claim.ref.amount)) == (ids[4], "tx-4",
                                                                             "5.2500")
    assert claim.poll.attempts == 0 and claim.lease_until > datetime.now(UTC)
