"""VCT gaming hub: `POST /papi/v1/order/status` (form body) with a Bearer token minted per request.

The token is `{api_key}.{unix_seconds}.{hex HMAC-SHA256(api_secret, api_key + "." + unix_seconds)}`.
`amount` is unsigned; `transfer_type` gives the direction.

`hub_member_id` is `MerchantPrefix_PlayerID`: with `member_prefix` set it must be
`{member_prefix}_{player}` (player: our player_ref, else our player id) or our player_ref exactly,
since a wallet may already store the hub's whole id as the reference. Without a prefix it is
compared as it is. The comparison is exact, case included: the seed shows no folding, and a
near miss goes to review rather than to a guess.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import ClassVar
from urllib.parse import urlencode

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from worker.domain.types import Direction, Outcome, TransferRef
from worker.providers import answers
from worker.providers.answers import Fields, Record
from worker.providers.base import ProviderAdapter, StatusRequest, Verdict


class VctSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    api_key: str = Field(min_length=1)
    api_secret: SecretStr = Field(min_length=1)
    # The merchant's prefix in `hub_member_id` (`MerchantPrefix_PlayerID`), without the "_".
    member_prefix: str | None = Field(default=None, min_length=1)
    # Assumption: token errors ("Token expired", ...) come with HTTP 401, which like 403 is
    # AUTH_ERROR for every provider; list here any other status the hub uses for them.
    auth_error_http_statuses: list[int] = []

    @field_validator("member_prefix")
    @classmethod
    def _bare_prefix(cls, prefix: str | None) -> str | None:
        if prefix is not None and (prefix != prefix.strip() or prefix.endswith("_")):
            raise ValueError("write the prefix as the hub shows it, without spaces or the "
                             'joining "_" (hub_member_id is {member_prefix}_{player})')
        return prefix


Settings = VctSettings  # the name every adapter module exports

_STATUSES = {"success": Outcome.SUCCEEDED, "failed": Outcome.FAILED, "pending": Outcome.PENDING}
_DIRECTIONS = {"deposit": Direction.DEPOSIT, "withdraw": Direction.WITHDRAW}
_CODES = {
    7: Outcome.NOT_FOUND,  # order not found
    3004: Outcome.PENDING,  # transfer pending, query later
    1001: Outcome.AUTH_ERROR,  # parameter error: our request is wrong, repeating cannot help
    1002: Outcome.AUTH_ERROR,  # signature error
    1003: Outcome.RETRY,  # timeout on their side
}
# Token problems come as messages, whatever the code.
_TOKEN_MESSAGES = ("token expired", "invalid token signature")


def bearer_token(api_key: str, api_secret: str, unix_seconds: int) -> str:
    message = f"{api_key}.{unix_seconds}".encode()
    mac = hmac.new(api_secret.encode(), message, hashlib.sha256).hexdigest()
    return f"{api_key}.{unix_seconds}.{mac}"


class Adapter(ProviderAdapter[VctSettings]):
    kind: ClassVar[str] = "vct"
    Settings: ClassVar[type[BaseModel]] = Settings

    def build_request(self, transfer: TransferRef, now: float) -> StatusRequest:
        token = bearer_token(self.conf.api_key, self.conf.api_secret.get_secret_value(), int(now))
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "Authorization": f"Bearer {token}",
        }
        body = urlencode({"transfer_id": transfer.tx_id}).encode()
        url = f"{self.instance.base_url}/papi/v1/order/status"
        return StatusRequest("POST", url, headers, body)

    @answers.unreadable_is_retry
    def classify(self, transfer: TransferRef, http_status: int, body: bytes) -> Verdict:
        if gated := answers.status_gate(http_status, body):
            return gated
        message = answers.message_of(body)
        if http_status in self.conf.auth_error_http_statuses or _is_token_error(message):
            return Verdict(Outcome.AUTH_ERROR, f"HTTP {http_status}: {message or 'token refused'}")
        if http_status != 200:
            return answers.undocumented_http(http_status)
        answer = Fields(answers.parse_json(body))
        code = answer.integer("code")
        if code != 0:
            return answers.from_code(_CODES, code, message)
        data = answer.obj("data")
        status = data.text("status")
        transfer_type = data.text("transfer_type")
        outcome = answers.documented(_STATUSES, status, "data.status")
        direction = answers.documented(_DIRECTIONS, transfer_type, "data.transfer_type")
        record = Record(
            outcome,
            status,
            amount=data.decimal("amount"),
            direction=direction,
            currency=data.text("currency"),
            player=data.text("hub_member_id"),
            tx_id=data.text("transfer_id"),
            our_players=member_ids(transfer, self.conf.member_prefix),
        )
        return answers.judge(transfer, record)


def member_ids(transfer: TransferRef, member_prefix: str | None) -> tuple[str, ...]:
    """The `hub_member_id`s that are our player (see the module's docstring)."""
    player = answers.player_of(transfer)
    if member_prefix is None:
        return (player,)
    prefixed = f"{member_prefix}_{player}"
    return (prefixed, transfer.player_ref) if transfer.player_ref else (prefixed,)


def _is_token_error(message: str | None) -> bool:
    return message is not None and any(known in message.lower() for known in _TOKEN_MESSAGES)
