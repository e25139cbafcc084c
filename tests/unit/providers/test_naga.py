"""Naga Games: the signed GET and every documented answer."""

from __future__ import annotations

import hashlib
import hmac
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
from worker.providers import naga

SECRET = "naga-secret-789"
CREDENTIALS = {"brand_code": "srot", "group_code": "dpae", "secret_key": SECRET}

# The seed's answers, verbatim.
SEED_ANSWER = b"""{
  "amount": 1000,
  "brand": {
    "id": "2f740d6a-35dc-461d-a415-a927e342407a",
    "code": "srot"
  },
  "group": {
    "id": "81540e1e-dc99-40a7-a1fb-70d6c05de26d",
    "code": "dpae"
  },
  "created": "2023-07-21T08:09:28.267Z",
  "currency": {
    "id": "727d3d98-6294-bf23-a4ad-963f5b06bf74",
    "code": "THB"
  },
  "id": "d51dd942-fc93-20ab-29f3-6f00a43589c3",
  "nativeTransactionId": "d93b49c8-bd90-42eb-bbab-5697171b704a",
  "player": {
    "id": "50784686-4e24-4607-b125-9e7cc20a0148",
    "nativeId": "player_transfer_01"
  },
  "status": "SUCCEED",
  "type": "DEPOSIT",
  "wallet": {
    "id": "26729ffd-a63d-4fc3-9660-61ce360ed611",
    "balance": 1000
  }
}"""
SEED_NOT_FOUND = b"""{
  "message": "Transaction Not Found",
  "code": 1208,
  "timestamp": "2023-05-10T04:48:05.565Z"
}"""
SEED_DOCUMENT = json.loads(SEED_ANSWER)
SEED_TRANSFER = make_transfer(
    tx_id="d93b49c8-bd90-42eb-bbab-5697171b704a", player_id="player_transfer_01",
    amount=Decimal("1000"), currency="THB",
)


def classify(document: object, transfer=SEED_TRANSFER, http_status: int = 200, **settings):
    body = document if isinstance(document, bytes) else body_of(document)
    return make_adapter("naga", {**CREDENTIALS, **settings}).classify(transfer, http_status, body)


def test_request_is_the_documented_signed_get():
    request = make_adapter("naga", CREDENTIALS).build_request(SEED_TRANSFER, now=0)
    assert request.method == "GET"
    assert request.body is None
    assert request.url == (
        "https://provider.test/operator/transfer/transactions/"
        "d93b49c8-bd90-42eb-bbab-5697171b704a?brandCode=srot&groupCode=dpae"
    )
    # Recomputed from the recipe: HMAC-SHA256 over JSON.stringify({brandCode, groupCode}).
    payload = b'{"brandCode":"srot","groupCode":"dpae"}'
    expected = hmac.new(SECRET.encode(), payload, hashlib.sha256).hexdigest()
    assert request.headers == {"X-Signature": expected, "Accept": "application/json"}


def test_path_id_is_escaped_and_not_signed():
    adapter = make_adapter("naga", CREDENTIALS)
    odd = adapter.build_request(make_transfer(tx_id="a/b c"), now=0)
    plain = adapter.build_request(make_transfer(tx_id="x"), now=0)
    assert "/transactions/a%2Fb%20c?" in odd.url
    assert odd.headers["X-Signature"] == plain.headers["X-Signature"]


def test_seed_answer_for_our_transfer_is_succeeded():
    verdict = classify(SEED_ANSWER)
    assert verdict.outcome is Outcome.SUCCEEDED
    assert verdict.provider_status == "SUCCEED"
    assert verdict.provider_amount == Decimal("1000")
    assert verdict.provider_currency == "THB"


@pytest.mark.parametrize(("facts", "difference"), [
    ({"amount": Decimal("999.99")}, "amount: provider 1000.0000, ours 999.9900"),
    ({"currency": "USD"}, "currency: provider 'THB', ours 'USD'"),
    ({"direction": Direction.WITHDRAW}, "direction: provider deposit, ours withdraw"),
    ({"player_id": "p2"}, "player: provider 'player_transfer_01', ours 'p2'"),
    ({"tx_id": "other"}, "tx id: provider 'd93b49c8-bd90-42eb-bbab-5697171b704a', ours 'other'"),
])
def test_seed_answer_for_another_transfer_is_a_mismatch(facts, difference):
    verdict = classify(SEED_ANSWER, replace(SEED_TRANSFER, **facts))
    assert verdict.outcome is Outcome.MISMATCH
    assert difference in (verdict.detail or "")


@pytest.mark.parametrize(("status", "outcome"), [
    ("SUCCEED", Outcome.SUCCEEDED), ("FAILED", Outcome.FAILED),
])
def test_every_documented_status(status, outcome):
    assert classify(edited(SEED_DOCUMENT, "status", status)).outcome is outcome


def test_withdraw_record():
    document = edited(SEED_DOCUMENT, "type", "WITHDRAW")
    verdict = classify(document, replace(SEED_TRANSFER, direction=Direction.WITHDRAW))
    assert verdict.outcome is Outcome.SUCCEEDED


def test_seed_not_found_answer():
    verdict = classify(SEED_NOT_FOUND, http_status=400)
    assert verdict.outcome is Outcome.NOT_FOUND
    assert verdict.provider_status == "1208"
    assert verdict.detail == "code 1208: Transaction Not Found"


@pytest.mark.parametrize("http_status", [400, 404, 409])
def test_other_4xx_codes_are_auth_errors_by_default(http_status):
    body = body_of({"message": "Invalid Brand", "code": 1001})
    verdict = classify(body, http_status=http_status)
    assert verdict.outcome is Outcome.AUTH_ERROR
    assert verdict.detail == f"code 1001: Invalid Brand (HTTP {http_status})"
    assert classify(body, http_status=http_status, other_4xx_outcome="RETRY").outcome is (
        Outcome.RETRY
    )


@pytest.mark.parametrize("http_status", [401, 403])
def test_a_refusal_is_an_auth_error_whatever_other_4xx_outcome_says(http_status):
    body = body_of({"message": "Invalid Signature", "code": 1001})
    verdict = classify(body, http_status=http_status, other_4xx_outcome="RETRY")
    assert verdict.outcome is Outcome.AUTH_ERROR
    assert verdict.detail == (
        f"HTTP {http_status}: credentials or address refused (code 1001; Invalid Signature)"
    )


@pytest.mark.parametrize("body", [b"<html>Bad Request</html>", b'{"message":"no code"}'])
def test_4xx_without_a_code_is_retried(body):
    assert classify(body, http_status=400).outcome is Outcome.RETRY


def test_http_429_is_rate_limited_and_other_statuses_retry():
    assert classify(b'{"code":429}', http_status=429).outcome is Outcome.RATE_LIMITED
    assert classify(SEED_ANSWER, http_status=302).outcome is Outcome.RETRY


@pytest.mark.parametrize("document", [
    edited(SEED_DOCUMENT, "status", "PENDING"),
    edited(SEED_DOCUMENT, "type", "deposit"),
    edited(SEED_DOCUMENT, "amount", False),
    edited(SEED_DOCUMENT, "amount", "1000.0O"),
    edited(SEED_DOCUMENT, "currency", "THB"),
    edited(SEED_DOCUMENT, "player.nativeId", None),
    without(SEED_DOCUMENT, "nativeTransactionId"),
    without(SEED_DOCUMENT, "currency.code"),
    SEED_ANSWER[:-5],
])
def test_malformed_answers_are_retried_with_a_reason(document):
    verdict = classify(document)
    assert verdict.outcome is Outcome.RETRY
    assert (verdict.detail or "").startswith("unreadable answer")


def test_settings():
    assert_settings_rules("naga", CREDENTIALS)
    settings = naga.Settings.model_validate(CREDENTIALS)
    assert settings.lookup_by == "native"
    assert settings.other_4xx_outcome == "AUTH_ERROR"
    with pytest.raises(ValidationError):
        naga.Settings.model_validate({**CREDENTIALS, "lookup_by": "naga_id"})
