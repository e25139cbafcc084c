"""One dripping provider never freezes the others: a real Celery worker, the sweep and the
simulator, with a healthy instance beside one that sends its answers one byte every 0.5 s.

Given a worker with 6 threads and a healthy instance, when its transfers settle alone and then
again while a dripping instance (concurrency 2) is checked all the time, then the healthy
instance settles in about the time it took alone, and no more than 2 worker threads were ever
in a call to the dripping instance at once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from celery.contrib.testing.worker import start_worker
from sqlalchemy import func, select

from models import Check, Transfer
from resolver_tools.sim import Simulator, running_simulator
from resolver_tools.sim.merchants import make_merchant
from tests.integration.against_sim.conftest import CREDENTIALS, sim_transaction
from tests.integration.support import register
from worker.process import tasks
from worker.process.celery_app import app
from worker.process.db import transaction
from worker.providers.config import parse_providers
from worker.providers.instance import ProviderInstance

pytestmark = pytest.mark.e2e

HEALTHY, DRIPPING = "healthy", "dripping"
HEALTHY_TRANSFERS = 120  # each answers pending, then succeeded: 240 checks a round
DRIPPING_TRANSFERS = 12
THREADS = 6
POLICY: dict[str, Any] = {"initial_delay": "0s", "schedule": ["50ms"], "jitter": 0.0,
                          "rate_limit_per_s": 1000}


@pytest.fixture(scope="module")
def simulator_url() -> Iterator[str]:
    simulator = Simulator()
    for kind in ("minigame", "lucko"):
        simulator.merchants.add(make_merchant(kind, CREDENTIALS[kind]))
    with running_simulator(simulator=simulator) as url:
        yield url


@pytest.fixture
def providers(simulator_url: str) -> dict[str, ProviderInstance]:
    def instance(kind: str, **policy: Any) -> dict[str, Any]:
        return {"kind": kind, "base_url": simulator_url, "allow_insecure_http": True,
                "timeout_s": 2, "credentials": CREDENTIALS[kind], "policy": {**POLICY, **policy}}

    # The dripping instance's breaker never opens here, so its calls go on all the time.
    return parse_providers({"providers": {
        HEALTHY: instance("minigame"),
        DRIPPING: instance("lucko", concurrency=2, breaker_threshold=1_000_000),
    }}, "test-providers")


class CallCounter:
    """Wraps the runtime's adapters to count the calls to one instance under way at once."""

    def __init__(self, runtime, instance: str) -> None:
        self.adapter_for = runtime.adapter_for
        self.instance = instance
        self.now = 0
        self.most = 0
        self._lock = threading.Lock()

    def __call__(self, instance: ProviderInstance) -> Any:
        adapter = self.adapter_for(instance)
        if instance.name == self.instance:
            ask = adapter.check

            def counted(transfer: Any, deadline_s: float | None = None) -> Any:
                with self._lock:
                    self.now += 1
                    self.most = max(self.most, self.now)
                try:
                    return ask(transfer, deadline_s)
                finally:
                    with self._lock:
                        self.now -= 1

            adapter.check = counted  # type: ignore[method-assign]
        return adapter


def unsettled(engine, provider: str) -> int:
    with transaction(engine) as session:
        return session.execute(
            select(func.count()).select_from(Transfer)
            .where(Transfer.provider == provider, Transfer.state == "pending")
        ).scalar_one()


def load_healthy(runtime, simulator_url: str, batch: str) -> None:
    tx_ids = [f"{batch}-{n}" for n in range(HEALTHY_TRANSFERS)]
    requests.post(f"{simulator_url}/_sim/transactions", timeout=10, json=[
        sim_transaction("minigame", tx_id, ["pending", "succeeded"]) for tx_id in tx_ids
    ]).raise_for_status()
    for tx_id in tx_ids:
        register(runtime, provider=HEALTHY, tx_id=tx_id, amount="12.50", player_id="player-1")


def load_dripping(simulator_url: str, script: list[Any]) -> None:
    requests.post(f"{simulator_url}/_sim/transactions", timeout=10, json=[
        sim_transaction("lucko", f"drip-{n}", script) for n in range(DRIPPING_TRANSFERS)
    ]).raise_for_status()


def settle_healthy(engine, limit_s: float) -> float:
    """Sweep as beat would until no healthy transfer is pending; how long it took."""
    started = time.monotonic()
    while unsettled(engine, HEALTHY) and time.monotonic() - started < limit_s:
        tasks.sweep_due()
        time.sleep(0.1)
    return time.monotonic() - started


def test_a_dripping_provider_does_not_slow_a_healthy_one(runtime, engine, simulator_url):
    # given a worker whose calls to the dripping instance are counted
    calls = runtime.adapter_for = CallCounter(runtime, DRIPPING)  # what the worker's checks use
    with start_worker(app, pool="threads", concurrency=THREADS, perform_ping_check=False,
                      loglevel="WARNING", shutdown_timeout=10):
        # and the healthy instance's time alone
        load_healthy(runtime, simulator_url, "alone")
        alone = settle_healthy(engine, limit_s=30)
        assert unsettled(engine, HEALTHY) == 0

        # and a dripping instance, whose checks are under way
        load_dripping(simulator_url, [{"answer": "drip", "delay_s": 0.5, "then": "pending"}])
        for n in range(DRIPPING_TRANSFERS):
            register(runtime, provider=DRIPPING, tx_id=f"drip-{n}", amount="12.50",
                     player_id="player-1")
        load_healthy(runtime, simulator_url, "beside")
        waited = time.monotonic()
        while calls.now < 2 and time.monotonic() - waited < 5:
            tasks.sweep_due()
            time.sleep(0.1)

        # when the healthy instance's new batch settles beside it
        beside = settle_healthy(engine, limit_s=3 * alone + 10)
        print(f"\nhealthy: {HEALTHY_TRANSFERS} transfers settled in {alone:.1f} s alone, "
              f"{beside:.1f} s beside the dripping instance; most threads in a dripping call: "
              f"{calls.most}")

        # (the dripping provider now fails them at once, so no check is left running)
        load_dripping(simulator_url, ["failed"])
        while unsettled(engine, DRIPPING) and time.monotonic() - waited < 60:
            tasks.sweep_due()
            time.sleep(0.1)

    # then every healthy transfer settled, in about the time it took alone
    assert unsettled(engine, HEALTHY) == 0
    assert beside < 2 * alone + 5  # generous: six people share these two cores
    # and the dripping instance held its two call slots and never more
    assert calls.most == 2
    # its calls were cut off by their deadline and applied while their check held the lease
    with transaction(engine) as session:
        drip_checks = session.execute(
            select(Check.error, Check.applied).join(Transfer, Transfer.id == Check.transfer_id)
            .where(Transfer.provider == DRIPPING)
        ).all()
    cut_off = [error for error, _ in drip_checks if error and error.startswith("deadline")]
    assert cut_off
    assert all(applied for _, applied in drip_checks)
