"""A provider that is down: after a run of transport errors the breaker stops hammering it."""

from __future__ import annotations

import dataclasses
import time
from datetime import UTC, datetime, timedelta

import pytest
import requests
from sqlalchemy import text

from tests.integration.against_sim.conftest import sim_transaction
from tests.integration.support import register
from worker.engine.check.batch import run_check
from worker.engine.sweep import due
from worker.process.db import transaction

pytestmark = pytest.mark.integration


def test_the_breaker_opens_and_checks_wait_instead_of_calling(runtime, engine, sim):
    # given a provider that is down, and a breaker that opens after three failures
    naga = runtime.providers["naga"]
    runtime.providers = {"naga": dataclasses.replace(naga, policy=dataclasses.replace(
        naga.policy, breaker_threshold=3, breaker_cooldown=timedelta(seconds=30)))}
    for n in range(10):
        sim.load([sim_transaction("naga", f"down-{n}", ["succeeded"])])
        register(runtime, provider="naga", tx_id=f"down-{n}", amount="12.50", player_id="player-1")
    requests.post(f"{sim.url}/_sim/settings", json={"error_rate": 1.0}, timeout=5)

    # when the sweep checks what is due for three seconds
    def check_now(claims: list[due.Claim]) -> None:
        for claim in claims:
            run_check(runtime.engine, runtime.providers, claim.transfer_id, claim.lease_token,
                      runtime.adapter_for, runtime.guard)

    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        due.sweep(runtime.engine, runtime.providers, datetime.now(UTC), timedelta(seconds=10), 100,
                    check_now)
        time.sleep(0.05)

    # then
    stats = requests.get(f"{sim.url}/_sim/stats", timeout=5).json()
    with transaction(engine) as session:
        rows = session.execute(text("SELECT state, last_error, attempts FROM transfers")).all()
    # Three checks met 5xx (each tried three times over HTTP), then the breaker held the rest.
    assert stats["kinds"]["naga"]["queries"] == 9, stats
    assert {row.state for row in rows} == {"pending"}
    assert sum(row.attempts for row in rows) == 3
    # Every transfer, the three that failed included, now waits on the breaker.
    assert all("circuit open" in (row.last_error or "") for row in rows)
