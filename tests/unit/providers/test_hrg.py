"""Hot Road Gaming: the Basic-authenticated request and every answer it can give."""

from __future__ import annotations

import base64
import json
from dataclasses import replace
from decimal import Decimal

import pytest
from pydantic import ValidationError

from tests.unit.providers.support import (
    assert_settings_rules,
    body_of,
    edited,
    make_adapter,
    make_transfer,
    without,
)
from worker.domain.types import Direction, Outcome
from worker.providers import hrg

API_KEY = "hrg-api-key-123"
CREDENTIALS = {"agent_id": "hrgag", "api_key": API_KEY}

# The seed's response example, verbatim.
SEED_ANSWER = b"""{
  "code": "0000",
  "data": {
    "transactionCode": "1656647292425",
    "agentId": "hrgag",
    "userId": "hrgpl00017",
    "amount": "-900.0",
    "freeCredit": "-100.0",
    "preBalance": "900.0",
    "preFreeCredit": "100.0",
    "currentBalance": "0.0",
    "currentFreeCredit": "0.0",
    "createDate": "2022-07-01T11:48:13.430+0800"
  }
}"""
SEED_DOCUMENT = json.loads(SEED_ANSWER)
# A negative amount: the seed's record is a withdraw of 900.
SEED_TRANSFER = make_transfer(
    tx_id="1656647292425", player_id="hrgpl00017", amount=Decimal("900"),
    direction=Direction.WITHDRAW,
)


def classify(document: object, transfer=SEED_TRANSFER, http_status: int = 200, **settings):
    body = document if isinstance(document, bytes) else body_of(document)
    return make_adapter("hrg", {**CREDENTIALS, **settings}).classify(transfer, http_status, body)


def test_request_is_the_documented_post():
    request = make_adapter("hrg", CREDENTIALS).build_request(SEED_TRANSFER, now=0)
    assert request.method == "POST"
    assert request.url == "https://provider.test/api/check_transfer_operation"
    assert request.body == b'{"agentId":"hrgag","transactionCode":"1656647292425"}'
    token = base64.b64encode(f"hrgag:{API_KEY}".encode()).decode()
    assert request.headers == {
        "Content-Type": "application/json",
        "Authorization": f"Basic {token}",
    }


def test_basic_user_is_a_setting():
    adapter = make_adapter("hrg", {**CREDENTIALS, "basic_user": "someone"})
    header = adapter.build_request(SEED_TRANSFER, now=0).headers["Authorization"]
    assert base64.b64decode(header.removeprefix("Basic ")) == f"someone:{API_KEY}".encode()


def test_seed_answer_for_our_transfer_is_succeeded():
    verdict = classify(SEED_ANSWER)
    assert verdict.outcome is Outcome.SUCCEEDED
    assert verdict.provider_status == "0000"
    assert verdict.provider_amount == Decimal("900")  # the sign became the direction
    assert verdict.provider_currency is None  # HRG does not say


@pytest.mark.parametrize(("facts", "difference"), [
    ({"amount": Decimal("1000")}, "amount: provider 900.0000, ours 1000.0000"),
    ({"direction": Direction.DEPOSIT}, "direction: provider withdraw, ours deposit"),
    ({"player_ref": "hrgpl99999"}, "player: provider 'hrgpl00017', ours 'hrgpl99999'"),
    ({"tx_id": "1656647292426"}, "tx id: provider '1656647292425', ours '1656647292426'"),
])
def test_seed_answer_for_another_transfer_is_a_mismatch(facts, difference):
    verdict = classify(SEED_ANSWER, replace(SEED_TRANSFER, **facts))
    assert verdict.outcome is Outcome.MISMATCH
    assert difference in (verdict.detail or "")


def test_free_credit_is_shown_only_when_enabled():
    assert "free credit" not in (classify(SEED_ANSWER).detail or "")
    verdict = classify(SEED_ANSWER, free_credit=True)
    assert verdict.outcome is Outcome.SUCCEEDED
    assert "free credit -100.0000" in (verdict.detail or "")
    # Enabled, the field is part of the answer: missing is unreadable.
    assert classify(without(SEED_DOCUMENT, "data.freeCredit"), free_credit=True).outcome is (
        Outcome.RETRY
    )
    assert classify(without(SEED_DOCUMENT, "data.freeCredit")).outcome is Outcome.SUCCEEDED


def test_an_error_code_is_retry_unless_configured():
    error = {"code": "0404", "message": "transaction not found"}
    assert classify(error).outcome is Outcome.RETRY
    assert classify(error, not_found_codes=["0404"]).outcome is Outcome.NOT_FOUND


@pytest.mark.parametrize(("setting", "outcome"), [
    ("not_found_codes", Outcome.NOT_FOUND),
    ("auth_error_codes", Outcome.AUTH_ERROR),
    ("rate_limited_codes", Outcome.RATE_LIMITED),
])
def test_each_code_list_setting(setting, outcome):
    verdict = classify({"code": "0401", "message": "words"}, **{setting: ["0401"]})
    assert verdict.outcome is outcome
    assert verdict.provider_status == "0401"
    assert verdict.detail == "code 0401: words"


@pytest.mark.parametrize("codes", [["404"], ["04040"], ["0000"], [404]])
def test_code_lists_hold_four_character_codes_other_than_success(codes):
    with pytest.raises(ValidationError):
        hrg.Settings.model_validate({**CREDENTIALS, "not_found_codes": codes})


def test_http_429_is_rate_limited_and_other_statuses_retry():
    assert classify(b"", http_status=429).outcome is Outcome.RATE_LIMITED
    assert classify(SEED_ANSWER, http_status=404).outcome is Outcome.RETRY
    assert classify(SEED_ANSWER, http_status=404, answer_http_statuses=[200, 404]).outcome is (
        Outcome.SUCCEEDED
    )


def test_amount_as_json_number_is_read_as_decimal():
    verdict = classify(edited(SEED_DOCUMENT, "data.amount", -900))
    assert verdict.outcome is Outcome.SUCCEEDED
    assert verdict.provider_amount == Decimal("900")


@pytest.mark.parametrize("document", [
    edited(SEED_DOCUMENT, "code", 0),
    edited(SEED_DOCUMENT, "data.amount", "-900.0.0"),
    edited(SEED_DOCUMENT, "data.amount", ["-900"]),
    edited(SEED_DOCUMENT, "data.userId", None),
    edited(SEED_DOCUMENT, "data", "none"),
    without(SEED_DOCUMENT, "data"),
    without(SEED_DOCUMENT, "data.transactionCode"),
])
def test_malformed_answers_are_retried_with_a_reason(document):
    verdict = classify(document)
    assert verdict.outcome is Outcome.RETRY
    assert (verdict.detail or "").startswith("unreadable answer")


def test_settings():
    assert_settings_rules("hrg", CREDENTIALS)
    settings = hrg.Settings.model_validate(CREDENTIALS)
    assert settings.not_found_codes == []
    assert settings.free_credit is False
    assert settings.basic_user is None
