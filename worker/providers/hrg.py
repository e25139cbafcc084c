"""Hot Road Gaming: `POST /api/check_transfer_operation` with HTTP Basic credentials.

There is no status field: a record comes back only for an operation that was applied, so code
"0000" with data is SUCCEEDED (after comparing it with ours). The answer has no currency. The
vendor's status code table is not public, so which codes mean "not found", "credentials" or
"too many requests" is configured; with none configured every other code is RETRY.
"""

from __future__ import annotations

import base64
import json
from typing import Annotated, ClassVar

from pydantic import BaseModel, ConfigDict, Field, SecretStr, StringConstraints, field_validator

from worker.domain.types import Outcome, TransferRef
from worker.providers import answers
from worker.providers.answers import Fields, Record
from worker.providers.base import ProviderAdapter, StatusRequest, Verdict

_SUCCESS = "0000"
_StatusCode = Annotated[str, StringConstraints(min_length=4, max_length=4)]


class HrgSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    agent_id: str = Field(min_length=1)
    api_key: SecretStr = Field(min_length=1)
    # Assumption: the not-found code is unknown; empty means no code is taken as "not found".
    not_found_codes: list[_StatusCode] = []
    # Codes of the vendor's sheet that mean our credentials or request are wrong (AUTH_ERROR).
    auth_error_codes: list[_StatusCode] = []
    # Codes of the vendor's sheet that mean "too many requests" (RATE_LIMITED).
    rate_limited_codes: list[_StatusCode] = []
    # Read and show the free credit moved; the comparison stays on the cash amount.
    free_credit: bool = False
    # Assumption: Basic credentials are base64(agent_id:api_key); set if the user is another.
    basic_user: str | None = None
    # Assumption: error codes come in a body with one of these HTTP statuses; others are RETRY
    # (401 and 403 are AUTH_ERROR and 429 RATE_LIMITED whatever this says).
    answer_http_statuses: answers.AnswerStatuses = [200]

    @field_validator("not_found_codes", "auth_error_codes", "rate_limited_codes")
    @classmethod
    def _not_success(cls, codes: list[str]) -> list[str]:
        if _SUCCESS in codes:
            raise ValueError(f'"{_SUCCESS}" is the success code')
        return codes


Settings = HrgSettings  # the name every adapter module exports


class Adapter(ProviderAdapter[HrgSettings]):
    kind: ClassVar[str] = "hrg"
    Settings: ClassVar[type[BaseModel]] = Settings

    def basic_token(self) -> str:
        user = self.conf.basic_user or self.conf.agent_id
        pair = f"{user}:{self.conf.api_key.get_secret_value()}"
        return base64.b64encode(pair.encode()).decode()

    def build_request(self, transfer: TransferRef, now: float) -> StatusRequest:
        payload = {"agentId": self.conf.agent_id, "transactionCode": transfer.tx_id}
        body = json.dumps(payload, separators=(",", ":")).encode()
        headers = {
            "Content-Type": "application/json",
            "Authorization": f"Basic {self.basic_token()}",
        }
        url = f"{self.instance.base_url}/api/check_transfer_operation"
        return StatusRequest("POST", url, headers, body)

    def derived_secrets(self) -> list[str]:
        # The Basic token is the API key in base64.
        return [self.basic_token()]

    @answers.unreadable_is_retry
    def classify(self, transfer: TransferRef, http_status: int, body: bytes) -> Verdict:
        if gated := answers.http_gate(http_status, body, self.conf.answer_http_statuses):
            return gated
        answer = Fields(answers.parse_json(body))
        code = answer.text("code")
        if code != _SUCCESS:
            # The error layout is not public: show whichever message field there is.
            message = answer.optional_text("message") or answer.optional_text("msg")
            return self._error(code, message)
        data = answer.obj("data")
        amount, direction = answers.split_signed(data.decimal("amount"))
        note = None
        if self.conf.free_credit:
            note = f"free credit {data.decimal('freeCredit')}"
        record = Record(
            Outcome.SUCCEEDED,
            code,
            amount=amount,
            direction=direction,
            player=data.text("userId"),
            tx_id=data.text("transactionCode"),
            note=note,
        )
        return answers.judge(transfer, record)

    def _error(self, code: str, message: str | None) -> Verdict:
        table = {
            **dict.fromkeys(self.conf.rate_limited_codes, Outcome.RATE_LIMITED),
            **dict.fromkeys(self.conf.auth_error_codes, Outcome.AUTH_ERROR),
            **dict.fromkeys(self.conf.not_found_codes, Outcome.NOT_FOUND),
        }
        return answers.from_code(table, code, message)
