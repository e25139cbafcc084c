"""VCT gaming hub: the Bearer token, the form request and every documented answer."""

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
from worker.providers import vct

API_SECRET = "vct-secret-456"
CREDENTIALS = {"api_key": "TESTAGENT", "api_secret": API_SECRET}

# The seed's answers, verbatim.
SEED_ANSWER = b"""{
"code": 0,
"data": {
"transfer_id": "TXN202606152311001",
"hub_member_id": "TESTAGENT_PLAYER_USER_001",
"currency": "CNY",
"amount": 500.00,
"transfer_type": "deposit",
"balance_before": 1000.00,
"balance_after": 1500.00,
"status": "success",
"remark": "",
"created_at": "2026-06-15T23:11:00+08:00"
},
"msg": "ok"
}"""
SEED_NOT_FOUND = b"""{
"code": 7,
"data": {},
"msg": "order not found"
}"""
SEED_DOCUMENT = json.loads(SEED_ANSWER)
SEED_TRANSFER = make_transfer(
    tx_id="TXN202606152311001", player_id="PLAYER_USER_001",
    player_ref="TESTAGENT_PLAYER_USER_001", amount=Decimal("500"), currency="CNY",
)


def classify(document: object, transfer=SEED_TRANSFER, http_status: int = 200, **settings):
    body = document if isinstance(document, bytes) else body_of(document)
    return make_adapter("vct", {**CREDENTIALS, **settings}).classify(transfer, http_status, body)


def test_request_is_the_documented_form_post_with_a_fresh_token():
    request = make_adapter("vct", CREDENTIALS).build_request(SEED_TRANSFER, now=1781536260.8)
    assert request.method == "POST"
    assert request.url == "https://provider.test/papi/v1/order/status"
    assert request.body == b"transfer_id=TXN202606152311001"
    # Recomputed from the recipe: HMAC-SHA256(api_secret, api_key + "." + unix seconds).
    mac = hmac.new(API_SECRET.encode(), b"TESTAGENT.1781536260", hashlib.sha256).hexdigest()
    assert request.headers == {
        "Content-Type": "application/x-www-form-urlencoded",
        "Authorization": f"Bearer TESTAGENT.1781536260.{mac}",
    }


def test_transfer_id_is_form_encoded():
    transfer = make_transfer(tx_id="a&b=c d")
    request = make_adapter("vct", CREDENTIALS).build_request(transfer, now=0)
    assert request.body == b"transfer_id=a%26b%3Dc+d"


def test_seed_answer_for_our_transfer_is_succeeded():
    verdict = classify(SEED_ANSWER)
    assert verdict.outcome is Outcome.SUCCEEDED
    assert verdict.provider_status == "success"
    assert verdict.provider_amount == Decimal("500.00")
    assert isinstance(verdict.provider_amount, Decimal)
    assert verdict.provider_currency == "CNY"


@pytest.mark.parametrize(("facts", "difference"), [
    ({"amount": Decimal("50")}, "amount: provider 500.0000, ours 50.0000"),
    ({"currency": "USD"}, "currency: provider 'CNY', ours 'USD'"),
    ({"direction": Direction.WITHDRAW}, "direction: provider deposit, ours withdraw"),
    ({"player_ref": None}, "player: provider 'TESTAGENT_PLAYER_USER_001', ours 'PLAYER_USER_001'"),
    ({"tx_id": "TXN2"}, "tx id: provider 'TXN202606152311001', ours 'TXN2'"),
])
def test_seed_answer_for_another_transfer_is_a_mismatch(facts, difference):
    verdict = classify(SEED_ANSWER, replace(SEED_TRANSFER, **facts))
    assert verdict.outcome is Outcome.MISMATCH
    assert difference in (verdict.detail or "")


# hub_member_id is MerchantPrefix_PlayerID: the seed's "TESTAGENT_PLAYER_USER_001" is player
# "PLAYER_USER_001" of the merchant whose prefix is "TESTAGENT".
WALLET_TRANSFER = replace(SEED_TRANSFER, player_ref=None)  # the wallet's own player id only


@pytest.mark.parametrize(("player_id", "player_ref"), [
    ("PLAYER_USER_001", None),  # {prefix}_{player_id}
    ("wallet-7", "PLAYER_USER_001"),  # {prefix}_{player_ref}
    ("wallet-7", "TESTAGENT_PLAYER_USER_001"),  # the hub's whole id as our reference
])
def test_with_a_member_prefix_our_player_matches_the_hub_member_id(player_id, player_ref):
    transfer = replace(SEED_TRANSFER, player_id=player_id, player_ref=player_ref)

    verdict = classify(SEED_ANSWER, transfer, member_prefix="TESTAGENT")

    assert verdict.outcome is Outcome.SUCCEEDED


@pytest.mark.parametrize(("prefix", "player_id", "answered", "ours"), [
    # Another player of ours.
    ("TESTAGENT", "PLAYER_USER_002", "TESTAGENT_PLAYER_USER_001", "'TESTAGENT_PLAYER_USER_002'"),
    # Another merchant's player of the same id.
    ("OTHERAGENT", "PLAYER_USER_001", "TESTAGENT_PLAYER_USER_001", "'OTHERAGENT_PLAYER_USER_001'"),
    # The hub always prefixes: a bare id is not ours, even when it equals our player id.
    ("TESTAGENT", "PLAYER_USER_001", "PLAYER_USER_001", "'TESTAGENT_PLAYER_USER_001'"),
    # Exact, case included: a near miss goes to a person, not to a guess.
    ("testagent", "PLAYER_USER_001", "TESTAGENT_PLAYER_USER_001", "'testagent_PLAYER_USER_001'"),
])
def test_with_a_member_prefix_anything_else_is_a_player_mismatch(prefix, player_id, answered,
                                                                 ours):
    document = edited(SEED_DOCUMENT, "data.hub_member_id", answered)

    verdict = classify(document, replace(WALLET_TRANSFER, player_id=player_id),
                       member_prefix=prefix)

    assert verdict.outcome is Outcome.MISMATCH
    assert f"player: provider {answered!r}, ours {ours}" in (verdict.detail or "")


def test_a_mismatch_names_both_forms_our_reference_may_take():
    transfer = replace(SEED_TRANSFER, player_ref="PLAYER_USER_002")

    verdict = classify(SEED_ANSWER, transfer, member_prefix="TESTAGENT")

    assert verdict.outcome is Outcome.MISMATCH
    assert ("player: provider 'TESTAGENT_PLAYER_USER_001', "
            "ours 'TESTAGENT_PLAYER_USER_002' or 'PLAYER_USER_002'") in (verdict.detail or "")


def test_without_a_member_prefix_the_hub_member_id_is_compared_as_it_is():
    assert classify(SEED_ANSWER).outcome is Outcome.SUCCEEDED  # our ref is the whole id
    assert classify(SEED_ANSWER, WALLET_TRANSFER).outcome is Outcome.MISMATCH


@pytest.mark.parametrize("prefix", ["", "TESTAGENT_", " TESTAGENT", "TESTAGENT "])
def test_a_member_prefix_is_written_bare(prefix):
    with pytest.raises(ValidationError, match="member_prefix"):
        vct.Settings.model_validate({**CREDENTIALS, "member_prefix": prefix})


def test_currency_is_compared_ignoring_case():
    assert classify(SEED_ANSWER, replace(SEED_TRANSFER, currency="cny")).outcome is (
        Outcome.SUCCEEDED
    )


@pytest.mark.parametrize(("status", "outcome"), [
    ("success", Outcome.SUCCEEDED), ("failed", Outcome.FAILED), ("pending", Outcome.PENDING),
])
def test_every_documented_status(status, outcome):
    assert classify(edited(SEED_DOCUMENT, "data.status", status)).outcome is outcome


def test_withdraw_record():
    document = edited(SEED_DOCUMENT, "data.transfer_type", "withdraw")
    verdict = classify(document, replace(SEED_TRANSFER, direction=Direction.WITHDRAW))
    assert verdict.outcome is Outcome.SUCCEEDED


def test_seed_not_found_answer():
    verdict = classify(SEED_NOT_FOUND)
    assert verdict.outcome is Outcome.NOT_FOUND
    assert verdict.detail == "code 7: order not found"


@pytest.mark.parametrize(("code", "outcome"), [
    (7, Outcome.NOT_FOUND),
    (1001, Outcome.AUTH_ERROR),
    (1002, Outcome.AUTH_ERROR),
    (1003, Outcome.RETRY),
    (3004, Outcome.PENDING),
    (55, Outcome.RETRY),
])
def test_every_documented_code(code, outcome):
    verdict = classify({"code": code, "data": {}, "msg": "words"})
    assert verdict.outcome is outcome
    assert verdict.provider_status == str(code)


@pytest.mark.parametrize("body", [
    b'{"code":1003,"data":{},"msg":"Token expired"}',
    b"<html>401 Unauthorized</html>",
    b"",
])
@pytest.mark.parametrize("settings", [{}, {"auth_error_http_statuses": []}])
def test_http_401_is_an_auth_error_whatever_the_body(body, settings):
    verdict = classify(body, http_status=401, **settings)
    assert verdict.outcome is Outcome.AUTH_ERROR
    assert (verdict.detail or "").startswith("HTTP 401")


@pytest.mark.parametrize("message", ["Token expired", "Invalid token signature"])
@pytest.mark.parametrize("http_status", [200, 400])
def test_token_messages_are_auth_errors_on_any_status(message, http_status):
    body = body_of({"code": 99, "data": {}, "msg": message})
    verdict = classify(body, http_status=http_status)
    assert verdict.outcome is Outcome.AUTH_ERROR
    assert verdict.detail == f"HTTP {http_status}: {message}"


def test_more_auth_error_statuses_are_a_setting():
    assert classify(b"denied", http_status=419).outcome is Outcome.RETRY
    assert classify(b"denied", http_status=419, auth_error_http_statuses=[419]).outcome is (
        Outcome.AUTH_ERROR
    )


def test_http_429_is_rate_limited():
    assert classify(b'{"code":429,"data":{},"msg":"too many"}', http_status=429).outcome is (
        Outcome.RATE_LIMITED
    )


@pytest.mark.parametrize("document", [
    edited(SEED_DOCUMENT, "data.amount", True),
    edited(SEED_DOCUMENT, "data.amount", "5e2"),
    edited(SEED_DOCUMENT, "data.amount", {"value": 500}),
    edited(SEED_DOCUMENT, "data.status", "SUCCESS"),
    edited(SEED_DOCUMENT, "data.transfer_type", "transfer"),
    edited(SEED_DOCUMENT, "data.hub_member_id", 1),
    edited(SEED_DOCUMENT, "code", None),
    without(SEED_DOCUMENT, "data.transfer_id"),
    without(SEED_DOCUMENT, "code"),
    SEED_ANSWER.replace(b"500.00", b"Infinity"),
    SEED_ANSWER.replace(b"500.00", b"1e400"),
])
def test_malformed_answers_are_retried_with_a_reason(document):
    verdict = classify(document)
    assert verdict.outcome is Outcome.RETRY
    assert (verdict.detail or "").startswith("unreadable answer")


def test_settings():
    assert_settings_rules("vct", CREDENTIALS)
    settings = vct.Settings.model_validate(CREDENTIALS)
    assert settings.auth_error_http_statuses == []
    assert settings.member_prefix is None
