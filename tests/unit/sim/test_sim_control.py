"""The control API: merchants, bulk loads, counts, settings and reset."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from resolver_tools.sim.merchants import MerchantError, load_merchants_file
from tests.unit.sim.conftest import SimHarness
from tests.unit.sim.provider_calls import read_answer


def _tx(index: int) -> dict[str, object]:
    return {"kind": "naga", "merchant": "srot", "tx_id": f"bulk-{index}", "direction": "deposit",
            "amount": "1.00", "currency": "THB", "player": f"p{index}", "script": ["succeeded"]}


def test_bulk_load_of_thousands_is_fast(sim: SimHarness) -> None:
    # given
    started = time.monotonic()
    batch = {"transactions": [_tx(i) for i in range(5000)]}
    # when
    response = sim.control("POST", "/_sim/transactions", batch)
    # then
    assert response.json() == {"loaded": 5000}
    assert time.monotonic() - started < 2.0
    assert sim.control("GET", "/_sim/health").json() == {"ok": True, "transactions": 5000}
    assert read_answer("naga", sim.query("naga", "bulk-4999")) == "succeeded"


def test_a_bad_batch_loads_nothing_and_names_the_field(sim: SimHarness) -> None:
    # given
    bad = _tx(1) | {"amount": "-3"}
    # when
    response = sim.control("POST", "/_sim/transactions", [_tx(0), bad])
    # then
    assert response.status_code == 400
    assert "transactions[1]" in response.json()["error"] and "amount" in response.json()["error"]
    assert sim.control("GET", "/_sim/health").json()["transactions"] == 0


@pytest.mark.parametrize(
    ("change", "words"),
    [({"kind": "nope"}, "kind"), ({"merchant": "ghost"}, "not registered"),
     ({"script": [{"answer": "maybe"}]}, "script[0]"), ({"amount": 1.5}, "amount"),
     ({"script": [{"answer": "pending", "times": 0}]}, "times"),
     ({"kind": "hrg", "merchant": "hrgag", "tx_id": "x" * 31}, "tx_id"),
     ({"record": {"status": "x"}}, "record")],
)
def test_invalid_transactions_are_refused(sim: SimHarness, change: dict, words: str) -> None:
    # when
    response = sim.control("POST", "/_sim/transactions", [_tx(0) | change])
    # then
    assert response.status_code == 400
    assert words in response.json()["error"]


def test_merchant_may_be_omitted_when_the_kind_has_one(sim: SimHarness) -> None:
    # given
    sim.simulator.reset(merchants=True)
    sim.control("POST", "/_sim/merchants", {"kind": "lucko",
                                            "credentials": {"agent_id": "agent001",
                                                            "key": "lucko-secret-key"}})
    tx = {"kind": "lucko", "tx_id": "tx-1", "direction": "withdraw", "amount": "3",
          "currency": "VND", "player": "player-1", "script": ["failed"]}
    # when / then a transaction without a merchant loads and is answered
    assert sim.control("POST", "/_sim/transactions", [tx]).json() == {"loaded": 1}
    assert read_answer("lucko", sim.query("lucko", "tx-1")) == "failed"
    listing = sim.control("GET", "/_sim/merchants").json()
    assert listing == [{"kind": "lucko", "merchant": "agent001"}]


def test_merchant_registration_is_validated(sim: SimHarness) -> None:
    # given
    vct_without_secret = {"kind": "vct", "credentials": {"api_key": "a"}}
    # when
    response = sim.control("POST", "/_sim/merchants", vct_without_secret)
    # then
    assert response.status_code == 400
    assert "api_secret" in response.json()["error"]
    # given
    empty_prefix = {"kind": "vct", "credentials": {"api_key": "a", "api_secret": "s",
                                                   "member_prefix": ""}}
    # when
    response = sim.control("POST", "/_sim/merchants", empty_prefix)
    # then
    assert response.status_code == 400
    assert "credentials.member_prefix" in response.json()["error"]


def test_stats_count_per_kind_and_outcome(sim: SimHarness) -> None:
    # given
    sim.load("minigame", "a", [{"answer": "pending", "times": 2}, "succeeded"])
    # when
    for _ in range(3):
        sim.query("minigame", "a")
    sim.query("minigame", "zzz")
    sim.query("vct", "zzz")
    # then
    assert sim.control("GET", "/_sim/stats").json() == {
        "queries": 5,
        "kinds": {
            "minigame": {"queries": 4,
                         "outcomes": {"pending": 2, "succeeded": 1, "not_found": 1}},
            "vct": {"queries": 1, "outcomes": {"not_found": 1}},
        },
    }


def test_error_rate_and_latency_settings(sim: SimHarness) -> None:
    # given
    sim.load("lucko", "tx-1", ["succeeded"])
    # when every query is to fail
    settings = sim.control("POST", "/_sim/settings", {"error_rate": 1, "seed": 7}).json()
    # then
    assert settings["error_rate"] == 1.0
    assert sim.query("lucko", "tx-1").status_code == 500
    assert sim.history("lucko", "tx-1")["queries"] == 0
    # given no errors and 150 ms of latency
    sim.control("POST", "/_sim/settings", {"error_rate": 0, "latency_ms": 150})
    # when / then
    started = time.monotonic()
    assert read_answer("lucko", sim.query("lucko", "tx-1")) == "succeeded"
    assert time.monotonic() - started >= 0.15
    # when / then settings out of range or unknown are refused
    assert sim.control("POST", "/_sim/settings", {"error_rate": 2}).status_code == 400
    assert sim.control("POST", "/_sim/settings", {"colour": 1}).status_code == 400


def test_error_rate_is_reproducible_with_a_seed(sim: SimHarness) -> None:
    # given
    sim.load("hrg", "tx-1", ["succeeded"])

    def run() -> list[int]:
        sim.control("POST", "/_sim/settings", {"error_rate": 0.5, "seed": 42})
        return [sim.query("hrg", "tx-1").status_code for _ in range(20)]

    # when
    first = run()
    # then
    assert first == run()
    assert 500 in first and 200 in first


def test_clock_offset_moves_the_providers_clock(sim: SimHarness) -> None:
    # given
    sim.load("vct", "tx-1", ["succeeded"])
    sim.control("POST", "/_sim/settings", {"clock_offset_s": 600})
    # when / then
    assert sim.query("vct", "tx-1").status_code == 401
    assert read_answer("vct", sim.query("vct", "tx-1", now=time.time() + 600)) == "succeeded"


def test_reset_forgets_transactions_and_counts_but_keeps_merchants(sim: SimHarness) -> None:
    # given
    sim.load("minigame", "a", ["succeeded"])
    sim.query("minigame", "a")
    sim.control("POST", "/_sim/settings", {"latency_ms": 5})
    # when
    assert sim.control("POST", "/_sim/reset").json() == {"ok": True}
    # then
    assert sim.control("GET", "/_sim/stats").json() == {"queries": 0, "kinds": {}}
    assert sim.control("GET", "/_sim/settings").json()["latency_ms"] == 0
    assert read_answer("minigame", sim.query("minigame", "a")) == "not_found"
    # when merchants are reset too
    sim.control("POST", "/_sim/reset", {"merchants": True})
    # then
    assert sim.control("GET", "/_sim/merchants").json() == []


def test_unknown_routes(sim: SimHarness) -> None:
    # when / then
    assert sim.control("GET", "/_sim/nothing").status_code == 404
    assert sim.control("GET", "/api/nothing").status_code == 404
    assert sim.control("GET", "/papi/v1/order/status").status_code == 405


def test_merchants_file_expands_variables(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # given
    monkeypatch.setenv("SIM_TEST_NAGA_SECRET", "from-env")
    file = tmp_path / "providers.toml"
    file.write_text(
        """
[providers.naga-main]
kind = "naga"
base_url = "http://127.0.0.1:1/${UNSET_BUT_IGNORED}"
[providers.naga-main.credentials]
brand_code = "srot"
group_code = "dpae"
secret_key = "${SIM_TEST_NAGA_SECRET}"
[providers.naga-main.policy]
max_age = "72h"

[providers.mg]
kind = "minigame"
[providers.mg.credentials]
appid = 1005
key = "k"
not_found_codes = [10020]

[providers.other]
kind = "scripted"
""",
        encoding="utf-8",
    )
    # when
    merchants = {m.kind: m for m in load_merchants_file(file)}
    # then
    assert set(merchants) == {"naga", "minigame"}
    assert merchants["naga"].secret("secret_key") == "from-env"
    assert merchants["minigame"].merchant_id == "1005"
    # given the variable unset
    monkeypatch.delenv("SIM_TEST_NAGA_SECRET")
    # when / then
    with pytest.raises(MerchantError, match="SIM_TEST_NAGA_SECRET"):
        load_merchants_file(file)
