"""A check against a dripping provider ends inside its lease, and its answer is applied."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from models import Check
from tests.integration.against_sim.conftest import sim_transaction
from tests.integration.support import load, register
from worker.engine.check.batch import CheckEnd, run_check
from worker.engine.sweep.due import claim_due
from worker.process.db import transaction

pytestmark = pytest.mark.integration


def test_a_dripping_provider_is_cut_off_at_half_the_lease_and_the_retry_applies(runtime, engine,
                                                                                sim):
    # given a provider that drips its answer one byte every 0.5 s (each read well inside the
    # instance's 2 s read timeout; its deadline_s is the default 30 s), and a 4 s lease
    sim.load([sim_transaction("lucko", "tx-drip",
                              [{"answer": "drip", "delay_s": 0.5, "then": "succeeded"}])])
    transfer_id = register(runtime, provider="lucko", tx_id="tx-drip", amount="12.50",
                           player_id="player-1")
    [claimed] = claim_due(engine, runtime.providers["lucko"], datetime.now(UTC),
                          timedelta(seconds=4), 10)

    # when the check runs
    started = time.monotonic()
    done = run_check(engine, runtime.providers, transfer_id, claimed.lease_token,
                     runtime.adapter_for,
                     runtime.guard)
    elapsed = time.monotonic() - started

    # then the call was cut off at half the lease, and its RETRY was applied while the
    # check still held the transfer: rescheduled, not lost to a second claim
    assert done is CheckEnd.RESCHEDULED
    assert 1.7 < elapsed < 2.6
    transfer = load(engine, transfer_id)
    assert transfer.last_outcome == "RETRY"
    assert transfer.last_error.startswith("deadline of 2 s passed (reading the answer's body")
    with transaction(engine) as session:
        [row] = session.execute(select(Check).where(Check.transfer_id == transfer_id)).scalars()
        assert row.applied and row.error == transfer.last_error
