"""Naga Games: GET /operator/transfer/transactions/{id}?brandCode=…&groupCode=…, X-Signature.

X-Signature = hex hmac_sha256(key=secret_key, msg=compact JSON {"brandCode":…,"groupCode":…}
in that order); the path id is not signed and may be the operator's id (nativeTransactionId)
or Naga's own id. A record answers HTTP 200 with status SUCCEED or FAILED. Naga has no pending
status: a transfer still pending is not recorded yet, so it answers like an unknown one,
HTTP 400 code 1208 "Transaction Not Found". The simulator's choices for what Naga does not
publish: bad signature or unknown brand/group HTTP 401 code 1001, missing parameters HTTP 400
code 1000, rate limiting HTTP 429 code 429.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import uuid

from resolver_tools.sim.exchange import Reply, SimRequest, json_reply
from resolver_tools.sim.merchants import MerchantDirectory
from resolver_tools.sim.providers.base import (
    AUTH_REJECTED,
    BAD_REQUEST,
    UNKNOWN_MERCHANT,
    AnswerContext,
    Lookup,
    ProviderKind,
    Rejection,
    same_secret,
)
from resolver_tools.sim.providers.timefmt import utc_millis_z
from resolver_tools.sim.store import Transaction

KIND = "naga"
PATH_PREFIX = "/operator/transfer/transactions/"
BAD_PARAMETERS = 1000
INVALID_SIGNATURE = 1001
TRANSACTION_NOT_FOUND = 1208
RATE_LIMITED = 429
_IDS = uuid.UUID("0c4f9a52-8e1b-4d7e-b6a4-3f2a9d5c7e61")


def _error(status: int, code: int, message: str, now: float) -> Reply:
    return json_reply({"message": message, "code": code, "timestamp": utc_millis_z(now)}, status)


def signature_payload(brand_code: str, group_code: str) -> bytes:
    payload = {"brandCode": brand_code, "groupCode": group_code}
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def verify(request: SimRequest, merchants: MerchantDirectory, now: float) -> Lookup | Rejection:
    tx_id = request.path[len(PATH_PREFIX):]
    params = dict(request.query_pairs())
    brand_code, group_code = params.get("brandCode", ""), params.get("groupCode", "")
    if not tx_id or "/" in tx_id or not brand_code or not group_code:
        message = "transactionTransferId, brandCode and groupCode are required"
        return Rejection(BAD_REQUEST, _error(400, BAD_PARAMETERS, message, now))
    merchant = merchants.get(KIND, brand_code)
    if merchant is None or merchant.secret("group_code") != group_code:
        return Rejection(UNKNOWN_MERCHANT, _error(401, INVALID_SIGNATURE, "Invalid Brand", now))
    expected = hmac.new(
        merchant.secret("secret_key").encode("utf-8"),
        signature_payload(brand_code, group_code),
        hashlib.sha256,
    ).hexdigest()
    if not same_secret(request.headers.get("x-signature", "").lower(), expected):
        return Rejection(AUTH_REJECTED, _error(401, INVALID_SIGNATURE, "Invalid Signature", now))
    return Lookup(merchant, tx_id)


@functools.lru_cache(maxsize=65536)
def _naga_id(*parts: str) -> str:
    return str(uuid.uuid5(_IDS, "/".join(parts)))


def render(answer: str, tx: Transaction | None, context: AnswerContext) -> Reply:
    if tx is not None and answer in ("succeeded", "failed"):
        succeeded = answer == "succeeded"
        brand, group = tx.merchant_id, context.merchant.secret("group_code")
        body = {
            "amount": tx.amount,
            "brand": {"id": _naga_id("brand", brand), "code": brand},
            "group": {"id": _naga_id("group", group), "code": group},
            "created": utc_millis_z(tx.created_at),
            "currency": {"id": _naga_id("currency", tx.currency), "code": tx.currency},
            "id": tx.provider_tx_id,
            "nativeTransactionId": tx.tx_id,
            "player": {"id": _naga_id("player", tx.player), "nativeId": tx.player},
            "status": "SUCCEED" if succeeded else "FAILED",
            "type": tx.direction.upper(),
            "wallet": {
                "id": _naga_id("wallet", tx.player, tx.currency),
                "balance": tx.balance_after if succeeded else tx.balance_before,
            },
        }
        return json_reply(body)
    if answer == "rate_limited":
        return _error(429, RATE_LIMITED, "Too Many Requests", context.now)
    if answer == "auth_error":
        return _error(401, INVALID_SIGNATURE, "Invalid Signature", context.now)
    return _error(400, TRANSACTION_NOT_FOUND, "Transaction Not Found", context.now)


NAGA = ProviderKind(
    KIND, "GET", PATH_PREFIX, verify, render, path_has_id=True, provider_id_too=True
)
