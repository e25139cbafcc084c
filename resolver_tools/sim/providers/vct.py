"""VCT gaming hub: POST /papi/v1/order/status, form body transfer_id=…, Bearer agent token.

token = {api_key}.{unix_seconds}.{hex hmac_sha256(key=api_secret, msg=api_key + "." +
unix_seconds)}, accepted within ±120 s. Token problems answer HTTP 401 (the simulator's
choice: code 1002 "Invalid token signature", code 1003 "Token expired"); everything else HTTP
200 with `{"code","data","msg"}`: 0 with a record, 7 order not found, 1001 parameter error
(also a wrong Content-Type). A pending step with variant "code" answers code 3004 instead of a
record with status pending. Rate limiting (undocumented) answers HTTP 429 with code 429.
`hub_member_id` is `{member_prefix}_{player}` when the merchant has a prefix, else the player.
"""

from __future__ import annotations

import hashlib
import hmac

from resolver_tools.sim.exchange import Reply, SimRequest, json_reply
from resolver_tools.sim.merchants import Merchant, MerchantDirectory
from resolver_tools.sim.providers.base import (
    AUTH_REJECTED,
    BAD_CONTENT_TYPE,
    BAD_REQUEST,
    STALE_TIMESTAMP,
    UNKNOWN_MERCHANT,
    AnswerContext,
    Lookup,
    ProviderKind,
    Rejection,
    same_secret,
)
from resolver_tools.sim.providers.timefmt import gmt8_seconds
from resolver_tools.sim.store import Transaction

KIND = "vct"
TOKEN_WINDOW_S = 120
ORDER_NOT_FOUND = 7
PARAMETER_ERROR = 1001
INVALID_TOKEN = 1002
TOKEN_EXPIRED = 1003
TRANSFER_PENDING = 3004
RATE_LIMITED = 429
FORM_TYPE = "application/x-www-form-urlencoded"
_STATUSES = {"succeeded": "success", "failed": "failed", "pending": "pending"}


def _error(code: int, msg: str, status: int = 200) -> Reply:
    return json_reply({"code": code, "data": {}, "msg": msg}, status)


def _token_rejection(outcome: str) -> Rejection:
    if outcome == STALE_TIMESTAMP:
        return Rejection(outcome, _error(TOKEN_EXPIRED, "Token expired", 401))
    return Rejection(outcome, _error(INVALID_TOKEN, "Invalid token signature", 401))


def token_signature(api_key: str, api_secret: str, seconds: str) -> str:
    message = f"{api_key}.{seconds}".encode()
    return hmac.new(api_secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def verify(request: SimRequest, merchants: MerchantDirectory, now: float) -> Lookup | Rejection:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    parts = token.strip().rsplit(".", 2)
    if scheme.lower() != "bearer" or len(parts) != 3 or not parts[1].isdigit():
        return _token_rejection(AUTH_REJECTED)
    api_key, seconds, signature = parts
    merchant = merchants.get(KIND, api_key)
    if merchant is None:
        return _token_rejection(UNKNOWN_MERCHANT)
    expected = token_signature(api_key, merchant.secret("api_secret"), seconds)
    if not same_secret(signature.lower(), expected):
        return _token_rejection(AUTH_REJECTED)
    if abs(now - int(seconds)) > TOKEN_WINDOW_S:
        return _token_rejection(STALE_TIMESTAMP)
    if request.media_type() != FORM_TYPE:
        message = f"Content-Type must be {FORM_TYPE}"
        return Rejection(BAD_CONTENT_TYPE, _error(PARAMETER_ERROR, message))
    form = dict(request.form_pairs())
    transfer_id = form.get("transfer_id", "")
    if not transfer_id:
        return Rejection(BAD_REQUEST, _error(PARAMETER_ERROR, "transfer_id is required"))
    return Lookup(merchant, transfer_id)


def render(answer: str, tx: Transaction | None, context: AnswerContext) -> Reply:
    if answer == "pending" and context.variant == "code":
        return _error(TRANSFER_PENDING, "transfer pending, query later")
    if tx is not None and answer in _STATUSES:
        after = tx.balance_after if answer == "succeeded" else tx.balance_before
        data = {
            "transfer_id": tx.tx_id,
            "hub_member_id": _member_id(context.merchant, tx.player),
            "currency": tx.currency,
            "amount": tx.amount,
            "transfer_type": tx.direction,
            "balance_before": tx.balance_before,
            "balance_after": after,
            "status": _STATUSES[answer],
            "remark": "",
            "created_at": gmt8_seconds(tx.created_at),
        }
        return json_reply({"code": 0, "data": data, "msg": "ok"})
    if answer == "rate_limited":
        return _error(RATE_LIMITED, "too many requests", 429)
    if answer == "auth_error":
        return _token_rejection(AUTH_REJECTED).reply
    return _error(ORDER_NOT_FOUND, "order not found")


def _member_id(merchant: Merchant, player: str) -> str:
    prefix = merchant.setting("member_prefix")
    return f"{prefix}_{player}" if prefix else player


VCT = ProviderKind(KIND, "POST", "/papi/v1/order/status", verify, render)
