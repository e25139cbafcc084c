"""Naga Games: `GET /operator/transfer/transactions/{id}?brandCode=…&groupCode=…`, `X-Signature`.

The signature is HMAC-SHA256 over the query parameters as compact JSON in Naga's order; the path id
is not signed, so the signature is the same for every request: a standing credential, masked in
check records like a secret. `amount` is positive; `type` gives the direction.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import ClassVar, Literal
from urllib.parse import quote, urlencode

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from worker.domain.types import Direction, Outcome, TransferRef
from worker.providers import answers
from worker.providers.answers import Fields, Record
from worker.providers.base import ProviderAdapter, StatusRequest, Verdict


class NagaSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    brand_code: str = Field(min_length=1)
    group_code: str = Field(min_length=1)
    secret_key: SecretStr = Field(min_length=1)
    # Assumption: the path takes our own transaction id (Naga's nativeTransactionId); after a
    # timed-out deposit we never saw Naga's id, so "native" is the only lookup we can make.
    lookup_by: Literal["native"] = "native"
    # Assumption: a 4xx answer with a code other than not-found means our request is wrong
    # (AUTH_ERROR); "RETRY" would keep asking instead. 401 and 403 are AUTH_ERROR and 429
    # RATE_LIMITED whatever this says.
    other_4xx_outcome: Literal["AUTH_ERROR", "RETRY"] = "AUTH_ERROR"


Settings = NagaSettings  # the name every adapter module exports

_NOT_FOUND = 1208  # "Transaction Not Found", with HTTP 400
_STATUSES = {"SUCCEED": Outcome.SUCCEEDED, "FAILED": Outcome.FAILED}
_DIRECTIONS = {"DEPOSIT": Direction.DEPOSIT, "WITHDRAW": Direction.WITHDRAW}


def signature(brand_code: str, group_code: str, secret_key: str) -> str:
    # JSON.stringify of {"brandCode", "groupCode"}: that order, no spaces, non-ASCII as is.
    payload = json.dumps(
        {"brandCode": brand_code, "groupCode": group_code},
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hmac.new(secret_key.encode(), payload.encode(), hashlib.sha256).hexdigest()


class Adapter(ProviderAdapter[NagaSettings]):
    kind: ClassVar[str] = "naga"
    Settings: ClassVar[type[BaseModel]] = Settings

    def signature(self) -> str:
        conf = self.conf
        return signature(conf.brand_code, conf.group_code, conf.secret_key.get_secret_value())

    def build_request(self, transfer: TransferRef, now: float) -> StatusRequest:
        query = urlencode({"brandCode": self.conf.brand_code, "groupCode": self.conf.group_code})
        path = f"/operator/transfer/transactions/{quote(transfer.tx_id, safe='')}"
        headers = {"X-Signature": self.signature(), "Accept": "application/json"}
        return StatusRequest("GET", f"{self.instance.base_url}{path}?{query}", headers)

    def derived_secrets(self) -> list[str]:
        # The signature covers only brand and group, so it never changes: as good as the key.
        return [self.signature()]

    @answers.unreadable_is_retry
    def classify(self, transfer: TransferRef, http_status: int, body: bytes) -> Verdict:
        if gated := answers.status_gate(http_status, body):
            return gated
        if 400 <= http_status < 500:
            return self._error(http_status, Fields(answers.parse_json(body)))
        if http_status != 200:
            return answers.undocumented_http(http_status)
        answer = Fields(answers.parse_json(body))
        status = answer.text("status")
        kind = answer.text("type")
        outcome = answers.documented(_STATUSES, status, "status")
        direction = answers.documented(_DIRECTIONS, kind, "type")
        record = Record(
            outcome,
            status,
            amount=answer.decimal("amount"),
            direction=direction,
            currency=answer.obj("currency").text("code"),
            player=answer.obj("player").text("nativeId"),
            tx_id=answer.text("nativeTransactionId"),
        )
        return answers.judge(transfer, record)

    def _error(self, http_status: int, answer: Fields) -> Verdict:
        code = answer.integer("code")
        message = answer.optional_text("message")
        if code == _NOT_FOUND:
            return answers.coded(Outcome.NOT_FOUND, code, message)
        outcome = Outcome(self.conf.other_4xx_outcome)
        return answers.coded(outcome, code, message, f"HTTP {http_status}")
