"""`resolver probe` against the simulator: every outcome of every provider kind."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.integration.against_sim.conftest import (
    CREDENTIALS,
    FAST_POLICY,
    HRG_CODES,
    KINDS,
    SECRET_FIELD,
    sim_transaction,
)
from worker.cli import main
from worker.process.settings import get_settings

pytestmark = pytest.mark.integration

# What each simulated answer must come out as. HRG only records applied operations and Naga
# has no pending status: both answer "not found" while a transfer is pending (HRG also when
# it failed, since a failed operation was never applied).
EXPECTED = {
    "succeeded": {kind: "SUCCEEDED" for kind in KINDS},
    "failed": {**{kind: "FAILED" for kind in KINDS}, "hrg": "NOT_FOUND"},
    "pending": {**{kind: "PENDING" for kind in KINDS}, "hrg": "NOT_FOUND", "naga": "NOT_FOUND"},
    "not_found": {kind: "NOT_FOUND" for kind in KINDS},
    "rate_limited": {kind: "RATE_LIMITED" for kind in KINDS},
    "auth_error": {kind: "AUTH_ERROR" for kind in KINDS},
    "server_error": {kind: "RETRY" for kind in KINDS},
    "html": {kind: "RETRY" for kind in KINDS},
    "truncated": {kind: "RETRY" for kind in KINDS},
}
CASES = [(answer, kind) for answer in EXPECTED for kind in KINDS]


def toml_file(tmp_path: Path, sim_url: str, timeout_s: float, secret_suffix: str = "") -> Path:
    lines = []
    for kind in KINDS:
        lines += [f"[providers.{kind}]", f'kind = "{kind}"', f'base_url = "{sim_url}"',
                  "allow_insecure_http = true", f"timeout_s = {timeout_s}",
                  f"[providers.{kind}.credentials]"]
        credentials = {**CREDENTIALS[kind], **(HRG_CODES if kind == "hrg" else {})}
        credentials[SECRET_FIELD[kind]] += secret_suffix
        lines += [f"{key} = {json.dumps(value)}" for key, value in credentials.items()]
        lines.append(f"[providers.{kind}.policy]")
        lines += [f"{k} = {json.dumps(v)}" for k, v in FAST_POLICY.items()]
    path = tmp_path / "providers.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def probe(tmp_path, monkeypatch, sim):
    def run(kind: str, tx_id: str, *, timeout_s: float = 2.0, amount: str = "12.50",
            secret_suffix: str = "", extra: tuple[str, ...] = ()) -> tuple[int, dict]:
        path = toml_file(tmp_path, sim.url, timeout_s, secret_suffix)
        monkeypatch.setenv("RESOLVER_PROVIDERS_FILE", str(path))
        get_settings.cache_clear()
        result = CliRunner().invoke(main, [
            "probe", "--provider", kind, "--tx-id", tx_id, "--direction", "deposit",
            "--player-id", "player-1", "--amount", amount, "--currency", "usd", "--json", *extra,
        ])
        get_settings.cache_clear()
        return result.exit_code, (json.loads(result.output) if result.exit_code == 0 else {})

    return run


@pytest.mark.parametrize(("answer", "kind"), CASES)
def test_every_answer_of_every_kind(sim, probe, answer, kind):
    # given
    sim.load([sim_transaction(kind, f"p-{answer}", [answer])])
    # when
    code, report = probe(kind, f"p-{answer}")
    # then
    assert code == 0
    assert report["outcome"] == EXPECTED[answer][kind], report
    assert "http_status" in report
    assert isinstance(report["raw"], str)
    assert sim.queries(kind, f"p-{answer}") >= 1


@pytest.mark.parametrize("kind", KINDS)
def test_a_record_that_disagrees_is_a_mismatch(sim, probe, kind):
    # given
    sim.load([sim_transaction(kind, "p-mm", ["succeeded"], record={"amount": "13.50"})])
    # when
    code, report = probe(kind, "p-mm")
    # then
    assert (code, report["outcome"]) == (0, "MISMATCH")
    assert "amount" in report["detail"]


@pytest.mark.parametrize("kind", KINDS)
def test_an_answer_slower_than_the_timeout_is_retry(sim, probe, kind):
    # given
    sim.load([sim_transaction(kind, "p-slow", [{"answer": "slow", "delay_s": 1.5,
                                                "then": "succeeded"}])])
    # when
    code, report = probe(kind, "p-slow", timeout_s=0.3)
    # then
    assert (code, report["outcome"], report["http_status"]) == (0, "RETRY", None)
    assert "timeout" in report["detail"]


@pytest.mark.parametrize("kind", KINDS)
def test_a_wrong_secret_is_refused_by_the_simulator_and_never_shown(sim, probe, kind):
    # given
    sim.load([sim_transaction(kind, "p-key", ["succeeded"])])
    # when
    code, report = probe(kind, "p-key", secret_suffix="-wrong")
    # then
    assert (code, report["outcome"]) == (0, "AUTH_ERROR"), report
    assert f"{CREDENTIALS[kind][SECRET_FIELD[kind]]}-wrong" not in json.dumps(report)


def test_the_probe_refuses_an_unknown_instance(probe):
    # when
    code, _ = probe("nope", "x")
    # then
    assert code == 2

