"""Each provider kind plays a transaction's script through correctly signed queries."""

from __future__ import annotations

import time

import pytest

from tests.unit.sim.conftest import SimHarness
from tests.unit.sim.provider_calls import KINDS, read_answer

# What each provider says about a transfer it holds as pending or failed: HRG records only
# applied operations and Naga has no pending status, so both then answer "not found".
PENDING = {"minigame": "pending", "lucko": "pending", "hrg": "not_found", "vct": "pending",
           "naga": "not_found"}
FAILED = {"minigame": "failed", "lucko": "failed", "hrg": "not_found", "vct": "failed",
          "naga": "failed"}


@pytest.mark.parametrize("kind", KINDS)
def test_pending_twice_then_succeeded(sim: SimHarness, kind: str) -> None:
    # given
    sim.load(kind, "tx-ok", [{"answer": "pending", "times": 2}, {"answer": "succeeded"}])
    # when
    answers = [read_answer(kind, sim.query(kind, "tx-ok")) for _ in range(4)]
    # then
    assert answers == [PENDING[kind]] * 2 + ["succeeded"] * 2
    history = sim.history(kind, "tx-ok")
    assert history["queries"] == 4
    assert history["answers"] == ["pending", "pending", "succeeded", "succeeded"]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    ("answer", "expected"),
    [("failed", None), ("not_found", "not_found"), ("rate_limited", "rate_limited"),
     ("auth_error", "auth_error"), ("server_error", "server_error"), ("html", "unparseable"),
     ("truncated", "unparseable")],
)
def test_single_answers(sim: SimHarness, kind: str, answer: str, expected: str | None) -> None:
    # given
    sim.load(kind, "tx-1", [answer])
    # when
    response = sim.query(kind, "tx-1")
    # then
    assert read_answer(kind, response) == (expected or FAILED[kind])
    if answer == "html":
        assert response.headers["content-type"].startswith("text/html")
    if answer == "server_error":
        assert response.status_code == 500
    assert sim.history(kind, "tx-1")["answers"] == [answer]


@pytest.mark.parametrize("kind", KINDS)
def test_unknown_transaction_is_not_found_and_counted(sim: SimHarness, kind: str) -> None:
    # when / then
    assert read_answer(kind, sim.query(kind, "never-loaded")) == "not_found"
    history = sim.history(kind, "never-loaded")
    assert history == {"kind": kind, "tx_id": "never-loaded", "loaded": False, "queries": 1,
                       "answers": ["not_found"]}


@pytest.mark.parametrize("kind", ["minigame", "naga"])
def test_found_after_a_while(sim: SimHarness, kind: str) -> None:
    # given
    sim.load(kind, "tx-late", [{"answer": "not_found", "times": 2}, "succeeded"])
    # when
    answers = [read_answer(kind, sim.query(kind, "tx-late")) for _ in range(3)]
    # then
    assert answers == ["not_found", "not_found", "succeeded"]


def test_slow_answer_waits_then_answers(sim: SimHarness) -> None:
    # given
    sim.load("lucko", "tx-slow", [{"answer": "slow", "delay_s": 0.4, "then": "succeeded"}])
    # when
    started = time.monotonic()
    response = sim.query("lucko", "tx-slow")
    # then
    assert time.monotonic() - started >= 0.4
    assert read_answer("lucko", response) == "succeeded"


def test_slow_answer_outlasts_a_client_timeout(sim: SimHarness) -> None:
    # given
    import requests

    sim.load("vct", "tx-stuck", [{"answer": "slow", "delay_s": 1.0}])
    # when / then
    with pytest.raises(requests.Timeout):
        sim.query("vct", "tx-stuck", timeout=0.2)
    # then
    assert sim.history("vct", "tx-stuck")["answers"] == ["slow"]


def test_drip_sends_the_answer_one_byte_at_a_time(sim: SimHarness) -> None:
    # given a transaction whose provider drips its success answer one byte every 10 ms
    sim.load("lucko", "tx-drip", [{"answer": "drip", "delay_s": 0.01, "then": "succeeded"}])

    # when it is asked with a per-read timeout of 0.3 s
    started = time.monotonic()
    response = sim.query("lucko", "tx-drip", timeout=0.3)
    elapsed = time.monotonic() - started

    # then the whole answer came, byte by byte: slower than any single read may take
    assert read_answer("lucko", response) == "succeeded"
    assert elapsed >= (len(response.content) - 1) * 0.01 > 0.3
    assert sim.history("lucko", "tx-drip")["answers"] == ["drip"]


def test_a_drip_step_drips_half_a_second_apart_and_pending_unless_told(sim: SimHarness) -> None:
    from resolver_tools.sim.script import parse_script

    # when
    [step] = parse_script([{"answer": "drip"}])
    # then
    assert (step.delay_s, step.then) == (0.5, "pending")
    # when / then
    with pytest.raises(ValueError, match="other than slow and drip"):
        parse_script([{"answer": "drip", "then": "drip"}])


def test_server_error_status_can_be_chosen(sim: SimHarness) -> None:
    # given
    sim.load("hrg", "tx-gw", [{"answer": "server_error", "status": 503}, "succeeded"])
    # when / then
    assert sim.query("hrg", "tx-gw").status_code == 503
    assert read_answer("hrg", sim.query("hrg", "tx-gw")) == "succeeded"
