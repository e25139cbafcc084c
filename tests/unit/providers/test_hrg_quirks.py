"""Hot Road Gaming's own rules: the Basic user as a setting, and free credit shown on demand."""

from __future__ import annotations

import base64

from tests.unit.providers.contract_table import HRG
from tests.unit.providers.support import classify, make_adapter, without
from worker.domain.types import Outcome


def test_basic_user_is_a_setting():
    # given
    adapter = make_adapter("hrg", {**HRG.credentials, "basic_user": "someone"})

    # when
    header = adapter.build_request(HRG.transfer, now=0).headers["Authorization"]

    # then
    api_key = HRG.credentials["api_key"]
    assert base64.b64decode(header.removeprefix("Basic ")) == f"someone:{api_key}".encode()


def test_free_credit_is_shown_only_when_enabled():
    # when
    plain = classify(HRG)
    enabled = classify(HRG, free_credit=True)

    # then
    assert "free credit" not in (plain.detail or "")
    assert enabled.outcome is Outcome.SUCCEEDED
    assert "free credit -100.0000" in (enabled.detail or "")


def test_enabled_free_credit_is_part_of_the_answer():
    """Given an answer without free credit, when it is classified with free credit enabled, then
    it is unreadable (retried); with free credit off it is the seed's success."""
    # given an answer without free credit
    answer = without(HRG.document, "data.freeCredit")

    # when / then with free credit enabled it is unreadable, retried
    assert classify(HRG, answer, free_credit=True).outcome is Outcome.RETRY
    # when / then with free credit off it is the seed's success
    assert classify(HRG, answer).outcome is Outcome.SUCCEEDED
