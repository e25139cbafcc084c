"""MINI.GAME: the signed request and every documented answer."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import replace
from decimal import Decimal

import pytest

from tests.unit.providers.support import (
    BASE_URL,
    assert_settings_rules,
    body_of,
    edited,
    make_adapter,
    make_transfer,
    without,
)
from worker.domain.types import Direction, Outcome
from worker.providers import minigame

KEY = "39a6581c31ef3203a22edb2daa2ab6d1"
CREDENTIALS = {"appid": "1005", "key": KEY}

# The seed's response example, verbatim.
SEED_ANSWER = b"""{
    "data": {
        "currency":"usdt",
        "amount": "4299.1",
        "state":1
    },
    "code": 0,
    "msg": "ok"
}"""
SEED_DOCUMENT = json.loads(SEED_ANSWER)
# The transfer the seed's answer is about: a deposit of 4299.1 USDT.
SEED_TRANSFER = make_transfer(amount=Decimal("4299.1000"), currency="USDT")


def adapter(**settings: object) -> minigame.Adapter:
    made = make_adapter("minigame", {**CREDENTIALS, **settings})
    assert isinstance(made, minigame.Adapter)
    return made


def classify(document: object, transfer=SEED_TRANSFER, http_status: int = 200, **settings):
    body = document if isinstance(document, bytes) else body_of(document)
    return adapter(**settings).classify(transfer, http_status, body)


def test_signature_matches_the_published_example():
    body = (b'{"player_logon_token":"b27cfe9b-f01c-11ee-a0b5-000c2901d9cc",'
            b'"account_id":"1002402","timestamp":1711971655}')
    signed = minigame.sign("trace_id=dhf1aboc1iio", body, KEY)
    assert signed == "e3f8dc79e875e46f6755ef540c2d24f3"


def test_request_is_exactly_the_documented_one():
    transfer = make_transfer(tx_id="tx-9", player_ref="tok-abc")
    request = adapter().build_request(transfer, now=1711954264.9)

    assert request.method == "POST"
    match = re.fullmatch(
        re.escape(f"{BASE_URL}/api/cash/v1/transfer/status?") + r"(trace_id=[0-9a-f]{24})",
        request.url,
    )
    assert match, request.url
    assert request.body == (
        b'{"appid":"1005","timestamp":1711954264,"token":"tok-abc","tx_id":"tx-9"}'
    )
    # Recomputed from the recipe: md5(query as sent + body as sent + key).
    expected_sign = hashlib.md5(match.group(1).encode() + request.body + KEY.encode()).hexdigest()
    assert request.headers == {
        "Content-Type": "application/json; charset=utf-8",
        "sign": expected_sign,
    }


def test_each_request_has_a_fresh_trace_id():
    transfer = make_transfer()
    urls = {adapter().build_request(transfer, now=1711954264).url for _ in range(5)}
    assert len(urls) == 5


def test_token_is_our_player_id_when_there_is_no_player_ref():
    request = adapter().build_request(make_transfer(player_id="p-42"), now=0)
    assert json.loads(request.body or b"")["token"] == "p-42"


def test_seed_answer_for_our_transfer_is_succeeded():
    verdict = classify(SEED_ANSWER)
    assert verdict.outcome is Outcome.SUCCEEDED
    assert verdict.provider_status == "1"
    assert verdict.provider_amount == Decimal("4299.1")
    assert verdict.provider_currency == "USDT"


@pytest.mark.parametrize(("facts", "difference"), [
    ({"amount": Decimal("4299.0000")}, "amount: provider 4299.1000, ours 4299.0000"),
    ({"currency": "USD"}, "currency: provider 'usdt', ours 'USD'"),
    ({"direction": Direction.WITHDRAW}, "direction: provider deposit, ours withdraw"),
])
def test_seed_answer_for_another_transfer_is_a_mismatch(facts, difference):
    verdict = classify(SEED_ANSWER, replace(SEED_TRANSFER, **facts))
    assert verdict.outcome is Outcome.MISMATCH
    assert difference in (verdict.detail or "")


@pytest.mark.parametrize(("state", "outcome"), [
    (1, Outcome.SUCCEEDED), (0, Outcome.FAILED), (2, Outcome.PENDING),
])
def test_every_documented_state(state, outcome):
    verdict = classify(edited(SEED_DOCUMENT, "data.state", state))
    assert verdict.outcome is outcome
    assert verdict.provider_status == str(state)


def test_negative_amount_is_a_withdraw():
    withdraw = replace(SEED_TRANSFER, direction=Direction.WITHDRAW, amount=Decimal("12.5"))
    verdict = classify(edited(SEED_DOCUMENT, "data.amount", "-12.5"), withdraw)
    assert verdict.outcome is Outcome.SUCCEEDED
    assert verdict.provider_amount == Decimal("12.5")  # size, the sign became the direction


def test_failed_record_with_another_amount_is_still_a_mismatch():
    document = edited(edited(SEED_DOCUMENT, "data.state", 0), "data.amount", "1.0")
    assert classify(document).outcome is Outcome.MISMATCH


@pytest.mark.parametrize(("code", "outcome"), [
    (10002, Outcome.AUTH_ERROR),
    (10003, Outcome.PENDING),
    (10004, Outcome.NOT_FOUND),
    (10006, Outcome.RATE_LIMITED),
    (10009, Outcome.AUTH_ERROR),
    (10011, Outcome.AUTH_ERROR),
    (10012, Outcome.AUTH_ERROR),
    (10015, Outcome.RETRY),
    (10018, Outcome.AUTH_ERROR),
    (10020, Outcome.NOT_FOUND),
    (10022, Outcome.AUTH_ERROR),
    (99999, Outcome.RETRY),
])
def test_every_documented_error_code(code, outcome):
    verdict = classify({"code": code, "msg": "some words"})
    assert verdict.outcome is outcome
    assert verdict.provider_status == str(code)
    assert f"code {code}: some words" in (verdict.detail or "")


def test_not_found_codes_are_a_setting():
    assert classify({"code": 10020, "msg": "x"}, not_found_codes=[10004]).outcome is Outcome.RETRY
    assert classify({"code": 10077, "msg": "x"}, not_found_codes=[10077]).outcome is (
        Outcome.NOT_FOUND
    )


def test_http_429_is_rate_limited_and_other_statuses_retry():
    assert classify(b"slow down", http_status=429).outcome is Outcome.RATE_LIMITED
    assert classify(SEED_ANSWER, http_status=404).outcome is Outcome.RETRY


def test_amount_as_json_number_is_read_as_decimal():
    verdict = classify(SEED_ANSWER.replace(b'"4299.1"', b"4299.1"))
    assert verdict.outcome is Outcome.SUCCEEDED
    assert isinstance(verdict.provider_amount, Decimal)


@pytest.mark.parametrize("document", [
    edited(SEED_DOCUMENT, "data.amount", True),
    edited(SEED_DOCUMENT, "data.amount", "4.2991e3"),
    edited(SEED_DOCUMENT, "data.amount", "NaN"),
    edited(SEED_DOCUMENT, "data.amount", "4299.12345"),
    edited(SEED_DOCUMENT, "data.state", "1"),
    edited(SEED_DOCUMENT, "data.state", 3),
    edited(SEED_DOCUMENT, "data.currency", 840),
    edited(SEED_DOCUMENT, "code", "0"),
    without(SEED_DOCUMENT, "data"),
    without(SEED_DOCUMENT, "data.amount"),
    b"<html>Bad gateway</html>",
    SEED_ANSWER[:40],
])
def test_malformed_answers_are_retried_with_a_reason(document):
    verdict = classify(document)
    assert verdict.outcome is Outcome.RETRY
    assert (verdict.detail or "").startswith("unreadable answer")


def test_settings():
    assert_settings_rules("minigame", CREDENTIALS)
    settings = minigame.Settings.model_validate(CREDENTIALS)
    assert settings.not_found_codes == [10020, 10004]
    assert settings.answer_http_statuses == [200]
