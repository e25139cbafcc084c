from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests

from resolver_tools.sim import Simulator, running_simulator
from resolver_tools.sim.merchants import make_merchant
from tests.unit.sim.provider_calls import MERCHANTS, OTHER_MERCHANTS, signed_call


@dataclass
class SimHarness:
    base_url: str
    simulator: Simulator
    session: requests.Session

    def control(self, method: str, path: str, body: Any = None) -> requests.Response:
        return self.session.request(method, self.base_url + path, json=body, timeout=5)

    def load(self, kind: str, tx_id: str, script: list[Any] | None = None, **fields: Any) -> None:
        merchant = next(iter(MERCHANTS[kind].values()))
        tx = {"kind": kind, "merchant": merchant, "tx_id": tx_id, "direction": "deposit",
              "amount": "12.50", "currency": "USD", "player": "player-1", **fields}
        if script is not None:
            tx["script"] = script
        response = self.control("POST", "/_sim/transactions", [tx])
        assert response.status_code == 200, response.text

    def query(self, kind: str, tx_id: str, timeout: float = 5, **options: Any) -> requests.Response:
        return signed_call(kind, tx_id, **options).send(self.session, self.base_url, timeout)

    def history(self, kind: str, tx_id: str) -> dict[str, Any]:
        return self.control("GET", f"/_sim/transactions/{kind}/{tx_id}").json()


@pytest.fixture(scope="session")
def sim_server() -> Iterator[tuple[str, Simulator]]:
    simulator = Simulator()
    with running_simulator(simulator=simulator) as base_url:
        yield base_url, simulator


@pytest.fixture
def sim(sim_server: tuple[str, Simulator]) -> Iterator[SimHarness]:
    base_url, simulator = sim_server
    simulator.reset(merchants=True)
    for table in (MERCHANTS, OTHER_MERCHANTS):
        for kind, credentials in table.items():
            simulator.merchants.add(make_merchant(kind, credentials))
    with requests.Session() as session:
        yield SimHarness(base_url, simulator, session)
