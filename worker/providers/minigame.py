"""MINI.GAME: `POST /api/cash/v1/transfer/status?trace_id=…`, signed with an MD5 `sign` header.

The answer's `amount` is signed: positive is a deposit, negative a withdraw. It names neither the
player nor the transaction, so only amount, direction and currency can be compared.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from worker.domain.types import Outcome, TransferRef
from worker.providers import answers
from worker.providers.answers import Fields, Record
from worker.providers.base import ProviderAdapter, StatusRequest, Verdict


class MinigameSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    appid: str = Field(min_length=1)
    key: SecretStr = Field(min_length=1)
    # Assumption: an unknown tx_id answers code 10020 ("transfer transaction not found"), and
    # 10004 ("order not found") means the same.
    not_found_codes: list[int] = [10020, 10004]
    # Assumption: error codes come in a body with one of these HTTP statuses; others are RETRY
    # (401 and 403 are AUTH_ERROR and 429 RATE_LIMITED whatever this says).
    answer_http_statuses: answers.AnswerStatuses = [200]


Settings = MinigameSettings  # the name every adapter module exports


_STATES = {1: Outcome.SUCCEEDED, 0: Outcome.FAILED, 2: Outcome.PENDING}

# From the platform's general error table. Codes that say our credentials or our request are
# wrong need a person; "illegal parameter" (10009) too, since repeating it cannot help.
_CODES = {
    10002: Outcome.AUTH_ERROR,  # signature failed
    10009: Outcome.AUTH_ERROR,  # illegal parameter
    10011: Outcome.AUTH_ERROR,  # token invalid
    10012: Outcome.AUTH_ERROR,  # illegal app_id
    10018: Outcome.AUTH_ERROR,  # merchant disabled
    10022: Outcome.AUTH_ERROR,  # merchant not found
    10003: Outcome.PENDING,  # order processing
    10006: Outcome.RATE_LIMITED,  # too frequent
    10015: Outcome.RETRY,  # internal error
}


def sign(query: str, body: bytes, key: str) -> str:
    """md5(query string as sent + body bytes as sent + key), lowercase hex."""
    return hashlib.md5(query.encode() + body + key.encode()).hexdigest()


class Adapter(ProviderAdapter[MinigameSettings]):
    kind: ClassVar[str] = "minigame"
    Settings: ClassVar[type[BaseModel]] = Settings

    def build_request(self, transfer: TransferRef, now: float) -> StatusRequest:
        conf = self.conf
        query = f"trace_id={secrets.token_hex(12)}"
        payload = {
            "appid": conf.appid,
            "timestamp": int(now),
            "token": answers.player_of(transfer),
            "tx_id": transfer.tx_id,
        }
        body = json.dumps(payload, separators=(",", ":")).encode()
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "sign": sign(query, body, conf.key.get_secret_value()),
        }
        url = f"{self.instance.base_url}/api/cash/v1/transfer/status?{query}"
        return StatusRequest("POST", url, headers, body)

    @answers.unreadable_is_retry
    def classify(self, transfer: TransferRef, http_status: int, body: bytes) -> Verdict:
        if gated := answers.http_gate(http_status, body, self.conf.answer_http_statuses):
            return gated
        answer = Fields(answers.parse_json(body))
        code = answer.integer("code")
        if code != 0:
            return self._error(code, answer.optional_text("msg"))
        data = answer.obj("data")
        state = data.integer("state")
        outcome = answers.documented(_STATES, state, "data.state")
        amount, direction = answers.split_signed(data.decimal("amount"))
        record = Record(
            outcome,
            str(state),
            amount=amount,
            direction=direction,
            currency=data.text("currency"),
        )
        return answers.judge(transfer, record)

    def _error(self, code: int, message: str | None) -> Verdict:
        if code in self.conf.not_found_codes:
            return answers.coded(Outcome.NOT_FOUND, code, message)
        return answers.from_code(_CODES, code, message)
