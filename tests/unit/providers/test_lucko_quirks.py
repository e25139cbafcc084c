"""Lucko's own rules: its query signature, and an amount read from balances."""

from __future__ import annotations

import hashlib
from urllib.parse import parse_qsl, urlsplit

import pytest

from tests.unit.providers.contract_table import LUCKO
from tests.unit.providers.support import classify, edited, make_adapter, make_transfer
from worker.domain.types import Direction, Outcome
from worker.providers import lucko


def test_signature_uses_raw_values_while_the_url_encodes_them():
    # given
    transfer = make_transfer(player_ref="a b&c", direction=Direction.WITHDRAW, tx_id="t/1")

    # when
    request = make_adapter("lucko", LUCKO.credentials).build_request(transfer, now=1.5)

    # then
    assert "user_id=a+b%26c" in request.url
    key = LUCKO.credentials["key"]
    plain = f"{key}&agent_id=agent001&timestamp=1500&txn_id=t/1&type=withdraw&user_id=a b&c"
    assert dict(parse_qsl(urlsplit(request.url).query))["sign"] == (
        hashlib.md5(plain.encode()).hexdigest()
    )


def test_signature_skips_empty_parameters():
    # when / then
    assert lucko.sign({"b": "2", "a": "", "c": "3"}, "K") == hashlib.md5(b"K&b=2&c=3").hexdigest()


@pytest.mark.parametrize("status", [0, 2])
def test_balances_are_not_compared_unless_succeeded(status):
    # given: a pending or failed transfer moved no money, so before == after says nothing
    # about the amount.
    answer = edited(edited(LUCKO.document, "data.status", status), "data.after_balance", "-0.69")

    # when
    verdict = classify(LUCKO, answer)

    # then
    assert verdict.outcome is not Outcome.MISMATCH
    assert verdict.provider_amount is None
