"""One simulator for the run, one merchant per provider kind, and our instances pointing at it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from resolver_tools.sim import Simulator, running_simulator
from resolver_tools.sim.merchants import make_merchant
from worker.providers.config import parse_providers
from worker.providers.instance import ProviderInstance

KINDS = ("minigame", "lucko", "hrg", "vct", "naga")

CREDENTIALS: dict[str, dict[str, Any]] = {
    "minigame": {"appid": "2001", "key": "mg-test-key-0001"},
    "lucko": {"agent_id": "lk-test", "key": "lk-test-key-0001"},
    "hrg": {"agent_id": "hrg-test", "api_key": "hrg-test-key-0001"},
    # The hub answers hub_member_id as {member_prefix}_{player}; we send our own player id.
    "vct": {"api_key": "vct-test", "api_secret": "vct-test-secret-0001",
            "member_prefix": "VCTTEST"},
    "naga": {"brand_code": "brand1", "group_code": "group1", "secret_key": "naga-test-key-0001"},
}
SECRET_FIELD = {"minigame": "key", "lucko": "key", "hrg": "api_key", "vct": "api_secret",
                "naga": "secret_key"}
MERCHANT_ID = {"minigame": "2001", "lucko": "lk-test", "hrg": "hrg-test", "vct": "vct-test",
               "naga": "brand1"}
# The simulator's HRG codes: the vendor's real ones are not public, so they are settings.
HRG_CODES = {"not_found_codes": ["0404"], "auth_error_codes": ["0401"],
             "rate_limited_codes": ["0429"]}
FAST_POLICY = {
    "initial_delay": "0s",
    "schedule": ["50ms"],
    # HRG and Naga answer "not found" while a transfer is pending; the grace must outlast the
    # pending answers of a script even when a loaded machine spreads the checks out.
    "not_found_grace": "5s",
    "not_found_confirmations": 2,
    "jitter": 0.0,
    "rate_limited_delay": "50ms",
    "rate_limit_per_s": 1000,
}


def instances(sim_url: str, timeout_s: float = 2.0,
              credentials: dict[str, dict[str, Any]] | None = None) -> dict[str, ProviderInstance]:
    """Our five instances, named after their kinds, pointing at the simulator."""
    chosen = credentials or CREDENTIALS
    document = {"providers": {
        kind: {
            "kind": kind,
            "base_url": sim_url,
            "allow_insecure_http": True,
            "timeout_s": timeout_s,
            "credentials": {**chosen[kind], **(HRG_CODES if kind == "hrg" else {})},
            "policy": FAST_POLICY,
        }
        for kind in KINDS
    }}
    return parse_providers(document, "test-providers")


def sim_transaction(kind: str, tx_id: str, script: list[Any] | None, *, amount: str = "12.50",
                    direction: str = "deposit", player: str = "player-1",
                    record: dict[str, Any] | None = None) -> dict[str, Any]:
    transaction: dict[str, Any] = {
        "kind": kind, "merchant": MERCHANT_ID[kind], "tx_id": tx_id, "direction": direction,
        "amount": amount, "currency": "USD", "player": player,
    }
    if script is not None:
        transaction["script"] = script
    if record:
        transaction["record"] = record
    return transaction


class SimControl:
    def __init__(self, url: str) -> None:
        self.url = url

    def load(self, transactions: list[dict[str, Any]]) -> None:
        response = requests.post(f"{self.url}/_sim/transactions", json=transactions, timeout=5)
        assert response.status_code == 200, response.text

    def queries(self, kind: str, tx_id: str) -> int:
        answer = requests.get(f"{self.url}/_sim/transactions/{kind}/{tx_id}", timeout=5)
        return int(answer.json()["queries"])


@pytest.fixture(scope="session")
def simulator_url() -> Iterator[str]:
    simulator = Simulator()
    for kind in KINDS:
        simulator.merchants.add(make_merchant(kind, CREDENTIALS[kind]))
    with running_simulator(simulator=simulator) as url:
        yield url


@pytest.fixture
def sim(simulator_url: str) -> SimControl:
    requests.post(f"{simulator_url}/_sim/reset", json={}, timeout=5).raise_for_status()
    return SimControl(simulator_url)


@pytest.fixture
def providers(simulator_url: str) -> dict[str, ProviderInstance]:
    """The `runtime` fixture with our five instances, aimed at the simulator."""
    return instances(simulator_url)
