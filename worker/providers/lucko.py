"""Lucko "AI Game": `GET /api/wallet/check?…&sign=…`, an MD5 signature over the sorted parameters.

The answer has no amount: when the transfer succeeded it is `after_balance - before_balance`
(positive for a deposit, negative for a withdraw). Balances mean nothing for a pending or failed
transfer, so only player, transaction and currency are compared then.
"""

from __future__ import annotations

import hashlib
from decimal import Decimal
from typing import ClassVar
from urllib.parse import urlencode

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from worker.domain.types import Direction, Outcome, TransferRef
from worker.providers import answers
from worker.providers.answers import Fields, Record
from worker.providers.base import ProviderAdapter, StatusRequest, Verdict


class LuckoSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    agent_id: str = Field(min_length=1)
    key: SecretStr = Field(min_length=1)
    # Assumption: error codes come in a body with one of these HTTP statuses; others are RETRY
    # (401 and 403 are AUTH_ERROR and 429 RATE_LIMITED whatever this says).
    answer_http_statuses: answers.AnswerStatuses = [200]


Settings = LuckoSettings  # the name every adapter module exports

_OK = 200
_STATUSES = {0: Outcome.PENDING, 1: Outcome.SUCCEEDED, 2: Outcome.FAILED}

_CODES = {
    408000: Outcome.AUTH_ERROR,  # request parameter error: our request is wrong
    408003: Outcome.AUTH_ERROR,  # IP whitelist
    600100: Outcome.AUTH_ERROR,  # invalid signature
    700101: Outcome.AUTH_ERROR,  # merchant does not exist
    # The wallet is not a transfer wallet: the merchant's set-up is wrong, not this transfer.
    700202: Outcome.AUTH_ERROR,
    # Member or member wallet missing: the provider does not know the player our record names.
    # Never FAILED (our player mapping may be what is wrong); a person compares the two.
    700103: Outcome.MISMATCH,
    700201: Outcome.MISMATCH,
    408004: Outcome.RATE_LIMITED,
    700205: Outcome.NOT_FOUND,  # transaction id does not exist
}


def sign(params: dict[str, str], key: str) -> str:
    """md5("KEY&k=v&k=v"), the non-empty parameters sorted by key, raw values; hex."""
    pairs = "&".join(f"{name}={params[name]}" for name in sorted(params) if params[name] != "")
    return hashlib.md5(f"{key}&{pairs}".encode()).hexdigest()


class Adapter(ProviderAdapter[LuckoSettings]):
    kind: ClassVar[str] = "lucko"
    Settings: ClassVar[type[BaseModel]] = Settings

    def build_request(self, transfer: TransferRef, now: float) -> StatusRequest:
        params = {
            "agent_id": self.conf.agent_id,
            "user_id": answers.player_of(transfer),
            "type": str(transfer.direction),
            "txn_id": transfer.tx_id,
            "timestamp": str(int(now * 1000)),  # milliseconds
        }
        params["sign"] = sign(params, self.conf.key.get_secret_value())
        url = f"{self.instance.base_url}/api/wallet/check?{urlencode(params)}"
        return StatusRequest("GET", url, {"Accept": "application/json"})

    @answers.unreadable_is_retry
    def classify(self, transfer: TransferRef, http_status: int, body: bytes) -> Verdict:
        if gated := answers.http_gate(http_status, body, self.conf.answer_http_statuses):
            return gated
        answer = Fields(answers.parse_json(body))
        code = answer.integer("code")
        if code != _OK:
            return answers.from_code(_CODES, code, answer.optional_text("message"))
        data = answer.obj("data")
        status = data.integer("status")
        outcome = answers.documented(_STATUSES, status, "data.status")
        amount: Decimal | None = None
        direction: Direction | None = None
        if outcome is Outcome.SUCCEEDED:
            moved = data.decimal("after_balance") - data.decimal("before_balance")
            amount, direction = answers.split_signed(moved)
        record = Record(
            outcome,
            str(status),
            amount=amount,
            direction=direction,
            currency=data.text("currency"),
            player=data.text("user_id"),
            tx_id=data.text("txn_id"),
        )
        return answers.judge(transfer, record)
