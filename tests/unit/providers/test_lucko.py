"""Lucko: the signed query and every documented answer."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from decimal import Decimal
from urllib.parse import parse_qsl, urlsplit

import pytest

from tests.unit.providers.support import (
    assert_settings_rules,
    body_of,
    edited,
    make_adapter,
    make_transfer,
    without,
)
from worker.domain.types import Direction, Outcome
from worker.providers import lucko

KEY = "lucko-merchant-key"
CREDENTIALS = {"agent_id": "agent001", "key": KEY}

# The seed's response example, verbatim.
SEED_ANSWER = b"""{
"code": 200,
"message": "success",
"data": {
"agent_id": "agent001",
"user_id": "testUid03",
"txn_id": "txniwsdfa342",
"before_balance": "-0.69",
"after_balance": "1000.00",
"currency": "VND2",
"status": 1
}
}"""
SEED_DOCUMENT = json.loads(SEED_ANSWER)
# The balance went from -0.69 to 1000.00: a deposit of 1000.69.
SEED_TRANSFER = make_transfer(
    tx_id="txniwsdfa342", player_id="testUid03", amount=Decimal("1000.69"), currency="VND2"
)


def classify(document: object, transfer=SEED_TRANSFER, http_status: int = 200):
    body = document if isinstance(document, bytes) else body_of(document)
    return make_adapter("lucko", CREDENTIALS).classify(transfer, http_status, body)


def test_request_is_the_documented_signed_query():
    request = make_adapter("lucko", CREDENTIALS).build_request(SEED_TRANSFER, now=1732589849.0)

    parts = urlsplit(request.url)
    assert request.method == "GET"
    assert request.body is None
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == "https://provider.test/api/wallet/check"
    params = parse_qsl(parts.query)
    assert [name for name, _ in params] == [
        "agent_id", "user_id", "type", "txn_id", "timestamp", "sign",
    ]
    values = dict(params)
    assert values == {
        "agent_id": "agent001",
        "user_id": "testUid03",
        "type": "deposit",
        "txn_id": "txniwsdfa342",
        "timestamp": "1732589849000",  # milliseconds
        "sign": values["sign"],
    }
    # Recomputed from the recipe: KEY & sorted k=v pairs, MD5.
    plain = (f"{KEY}&agent_id=agent001&timestamp=1732589849000&txn_id=txniwsdfa342"
             "&type=deposit&user_id=testUid03")
    assert values["sign"] == hashlib.md5(plain.encode()).hexdigest()


def test_signature_uses_raw_values_while_the_url_encodes_them():
    transfer = make_transfer(player_ref="a b&c", direction=Direction.WITHDRAW, tx_id="t/1")
    request = make_adapter("lucko", CREDENTIALS).build_request(transfer, now=1.5)
    assert "user_id=a+b%26c" in request.url
    plain = f"{KEY}&agent_id=agent001&timestamp=1500&txn_id=t/1&type=withdraw&user_id=a b&c"
    assert dict(parse_qsl(urlsplit(request.url).query))["sign"] == (
        hashlib.md5(plain.encode()).hexdigest()
    )


def test_signature_skips_empty_parameters():
    assert lucko.sign({"b": "2", "a": "", "c": "3"}, "K") == hashlib.md5(b"K&b=2&c=3").hexdigest()


def test_seed_answer_for_our_transfer_is_succeeded():
    verdict = classify(SEED_ANSWER)
    assert verdict.outcome is Outcome.SUCCEEDED
    assert verdict.provider_amount == Decimal("1000.69")
    assert verdict.provider_currency == "VND2"
    assert verdict.provider_status == "1"


@pytest.mark.parametrize(("facts", "difference"), [
    ({"amount": Decimal("1000")}, "amount: provider 1000.6900, ours 1000.0000"),
    ({"currency": "VND"}, "currency: provider 'VND2', ours 'VND'"),
    ({"direction": Direction.WITHDRAW}, "direction: provider deposit, ours withdraw"),
    ({"player_id": "someone"}, "player: provider 'testUid03', ours 'someone'"),
    ({"tx_id": "other"}, "tx id: provider 'txniwsdfa342', ours 'other'"),
])
def test_seed_answer_for_another_transfer_is_a_mismatch(facts, difference):
    verdict = classify(SEED_ANSWER, replace(SEED_TRANSFER, **facts))
    assert verdict.outcome is Outcome.MISMATCH
    assert difference in (verdict.detail or "")


def test_player_ref_is_the_player_when_set():
    transfer = replace(SEED_TRANSFER, player_id="ours-7", player_ref="testUid03")
    assert classify(SEED_ANSWER, transfer).outcome is Outcome.SUCCEEDED


def test_withdraw_is_a_falling_balance():
    document = edited(edited(SEED_DOCUMENT, "data.before_balance", "50.00"),
                      "data.after_balance", "20.00")
    withdraw = replace(SEED_TRANSFER, amount=Decimal("30"), direction=Direction.WITHDRAW)
    assert classify(document, withdraw).outcome is Outcome.SUCCEEDED


@pytest.mark.parametrize(("status", "outcome"), [
    (0, Outcome.PENDING), (1, Outcome.SUCCEEDED), (2, Outcome.FAILED),
])
def test_every_documented_status(status, outcome):
    verdict = classify(edited(SEED_DOCUMENT, "data.status", status))
    assert verdict.outcome is outcome


@pytest.mark.parametrize("status", [0, 2])
def test_balances_are_not_compared_unless_succeeded(status):
    # A pending or failed transfer moved no money: before == after says nothing about amount.
    document = edited(edited(SEED_DOCUMENT, "data.status", status), "data.after_balance", "-0.69")
    verdict = classify(document)
    assert verdict.outcome is not Outcome.MISMATCH
    assert verdict.provider_amount is None


@pytest.mark.parametrize(("code", "outcome"), [
    (408000, Outcome.AUTH_ERROR),
    (408003, Outcome.AUTH_ERROR),
    (408004, Outcome.RATE_LIMITED),
    (600100, Outcome.AUTH_ERROR),
    (700101, Outcome.AUTH_ERROR),
    (700103, Outcome.MISMATCH),
    (700201, Outcome.MISMATCH),
    (700202, Outcome.AUTH_ERROR),
    (700205, Outcome.NOT_FOUND),
    (123456, Outcome.RETRY),
])
def test_every_documented_error_code(code, outcome):
    verdict = classify({"code": code, "message": "Words", "data": None})
    assert verdict.outcome is outcome
    assert verdict.detail == f"code {code}: Words" + (" (undocumented code)" if code == 123456
                                                       else "")


def test_http_429_is_rate_limited_and_other_statuses_retry():
    assert classify(b"", http_status=429).outcome is Outcome.RATE_LIMITED
    assert classify(SEED_ANSWER, http_status=404).outcome is Outcome.RETRY


@pytest.mark.parametrize("document", [
    edited(SEED_DOCUMENT, "data.after_balance", False),
    edited(SEED_DOCUMENT, "data.after_balance", "1,000.00"),
    edited(SEED_DOCUMENT, "data.status", 7),
    edited(SEED_DOCUMENT, "data.status", None),
    edited(SEED_DOCUMENT, "data.user_id", 3),
    edited(SEED_DOCUMENT, "code", "200"),
    without(SEED_DOCUMENT, "data.txn_id"),
    without(SEED_DOCUMENT, "data.currency"),
    b"[]",
])
def test_malformed_answers_are_retried_with_a_reason(document):
    verdict = classify(document)
    assert verdict.outcome is Outcome.RETRY
    assert (verdict.detail or "").startswith("unreadable answer")


def test_settings():
    assert_settings_rules("lucko", CREDENTIALS)
    assert lucko.Settings.model_validate(CREDENTIALS).answer_http_statuses == [200]
