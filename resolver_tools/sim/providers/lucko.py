"""Lucko "AI Game": GET /api/wallet/check?agent_id&user_id&type&txn_id&timestamp&sign.

sign = md5(KEY + "&" + every non-empty parameter but sign, sorted by name, as k=v joined by
"&" with decoded values), hex in either case; `timestamp` in milliseconds, valid ten minutes.
Every answer is HTTP 200 with `{"code", "message"}`; a record is code 200 with `data.status`
0 in progress, 1 succeeded, 2 failed. The record is found by `txn_id` alone; `user_id` and
`type` are only signed, so a record of another player or direction comes back as it is.
Errors: 600100 signature, 700101 unknown agent_id, 408004 frequency limit, 700205 not found,
and (the simulator's choice) 408000 for a missing parameter or a timestamp out of its window.
"""

from __future__ import annotations

import hashlib

from resolver_tools.sim.exchange import Reply, SimRequest, json_reply
from resolver_tools.sim.merchants import MerchantDirectory
from resolver_tools.sim.providers.base import (
    AUTH_REJECTED,
    BAD_REQUEST,
    STALE_TIMESTAMP,
    UNKNOWN_MERCHANT,
    AnswerContext,
    Lookup,
    ProviderKind,
    Rejection,
    same_secret,
)
from resolver_tools.sim.store import Transaction

KIND = "lucko"
TIMESTAMP_WINDOW_MS = 10 * 60 * 1000
PARAMETER_ERROR = 408000
FREQUENCY_LIMIT = 408004
INVALID_SIGNATURE = 600100
MERCHANT_MISSING = 700101
TRANSACTION_MISSING = 700205
_REQUIRED = ("agent_id", "user_id", "type", "txn_id", "timestamp", "sign")
_STATUSES = {"pending": 0, "succeeded": 1, "failed": 2}


def _error(code: int, message: str) -> Reply:
    return json_reply({"code": code, "message": message, "data": None})


def _reject(outcome: str, code: int, message: str) -> Rejection:
    return Rejection(outcome, _error(code, message))


def sign(key: str, params: dict[str, str]) -> str:
    joined = "&".join(f"{name}={params[name]}" for name in sorted(params)
                      if name != "sign" and params[name] != "")
    return hashlib.md5(f"{key}&{joined}".encode()).hexdigest()


def verify(request: SimRequest, merchants: MerchantDirectory, now: float) -> Lookup | Rejection:
    pairs = request.query_pairs()
    params = dict(pairs)
    if len(params) != len(pairs):
        return _reject(BAD_REQUEST, PARAMETER_ERROR, "Request Parameter Error: repeated parameter")
    for name in _REQUIRED:
        if not params.get(name):
            return _reject(BAD_REQUEST, PARAMETER_ERROR, f"Request Parameter Error: {name}")
    merchant = merchants.get(KIND, params["agent_id"])
    if merchant is None:
        return _reject(UNKNOWN_MERCHANT, MERCHANT_MISSING, "Merchant Does Not Exist")
    expected = sign(merchant.secret("key"), params)
    if not same_secret(params["sign"].lower(), expected):
        return _reject(AUTH_REJECTED, INVALID_SIGNATURE, "Invalid Signature")
    if not params["timestamp"].isdigit():
        return _reject(BAD_REQUEST, PARAMETER_ERROR, "Request Parameter Error: timestamp")
    if abs(now * 1000 - int(params["timestamp"])) > TIMESTAMP_WINDOW_MS:
        message = "Request Parameter Error: timestamp expired"
        return _reject(STALE_TIMESTAMP, PARAMETER_ERROR, message)
    if params["type"] not in ("deposit", "withdraw"):
        return _reject(BAD_REQUEST, PARAMETER_ERROR, "Request Parameter Error: type")
    return Lookup(merchant, params["txn_id"])


def render(answer: str, tx: Transaction | None, context: AnswerContext) -> Reply:
    if tx is not None and answer in _STATUSES:
        after = tx.balance_after if answer == "succeeded" else tx.balance_before
        data = {
            "agent_id": tx.merchant_id,
            "user_id": tx.player,
            "txn_id": tx.tx_id,
            "before_balance": str(tx.balance_before),
            "after_balance": str(after),
            "currency": tx.currency,
            "status": _STATUSES[answer],
        }
        return json_reply({"code": 200, "message": "success", "data": data})
    if answer == "rate_limited":
        return _error(FREQUENCY_LIMIT, "API Frequency Limit")
    if answer == "auth_error":
        return _error(INVALID_SIGNATURE, "Invalid Signature")
    return _error(TRANSACTION_MISSING, "Transaction ID Does Not Exist")


LUCKO = ProviderKind(KIND, "GET", "/api/wallet/check", verify, render)
