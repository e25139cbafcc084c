"""MINI.GAME: POST /api/cash/v1/transfer/status?trace_id=…, JSON body, header `sign`.

sign = lowercase hex md5(raw query string + raw body + key); `timestamp` in seconds within
±300 s. Every answer is HTTP 200 with `{"code", "msg"}`; a record is code 0 with
`data.state` 1 succeeded, 0 failed, 2 pending and a signed decimal-string amount.
Errors: 10002 signature, 10012 unknown appid, 10006 too frequent, 10020 not found, and (the
simulator's choice, no specific code is published) 10009 for a wrong Content-Type, a missing
field or a timestamp outside the window.
"""

from __future__ import annotations

import hashlib
import json

from resolver_tools.sim.exchange import Reply, SimRequest, json_reply
from resolver_tools.sim.merchants import MerchantDirectory
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
from resolver_tools.sim.store import Transaction

KIND = "minigame"
TIMESTAMP_WINDOW_S = 300
SIGNATURE_FAILED = 10002
TOO_FREQUENT = 10006
ILLEGAL_PARAMETER = 10009
ILLEGAL_APP_ID = 10012
TRANSFER_NOT_FOUND = 10020
_STATES = {"failed": 0, "succeeded": 1, "pending": 2}


def _error(code: int, msg: str) -> Reply:
    return json_reply({"code": code, "msg": msg})


def _reject(outcome: str, code: int, msg: str) -> Rejection:
    return Rejection(outcome, _error(code, msg))


def sign(query: bytes, body: bytes, key: str) -> str:
    """md5 over the query string and body exactly as sent, then the key."""
    return hashlib.md5(query + body + key.encode("utf-8")).hexdigest()


def verify(request: SimRequest, merchants: MerchantDirectory, now: float) -> Lookup | Rejection:
    if request.media_type() != "application/json":
        return _reject(BAD_CONTENT_TYPE, ILLEGAL_PARAMETER, "Content-Type must be application/json")
    if not any(name == "trace_id" and value for name, value in request.query_pairs()):
        return _reject(BAD_REQUEST, ILLEGAL_PARAMETER, "trace_id is required")
    try:
        body = json.loads(request.body)
    except ValueError:
        return _reject(BAD_REQUEST, ILLEGAL_PARAMETER, "body is not JSON")
    if not isinstance(body, dict):
        return _reject(BAD_REQUEST, ILLEGAL_PARAMETER, "body is not a JSON object")
    appid = body.get("appid")
    if isinstance(appid, int) and not isinstance(appid, bool):
        appid = str(appid)
    if not isinstance(appid, str) or not appid:
        return _reject(BAD_REQUEST, ILLEGAL_PARAMETER, "appid is required")
    merchant = merchants.get(KIND, appid)
    if merchant is None:
        return _reject(UNKNOWN_MERCHANT, ILLEGAL_APP_ID, "illegal app_id")
    expected = sign(request.query, request.body, merchant.secret("key"))
    if not same_secret(request.headers.get("sign", ""), expected):
        return _reject(AUTH_REJECTED, SIGNATURE_FAILED, "signature failed")
    timestamp = body.get("timestamp")
    if isinstance(timestamp, bool) or not isinstance(timestamp, int):
        return _reject(BAD_REQUEST, ILLEGAL_PARAMETER, "timestamp must be an integer")
    if abs(now - timestamp) > TIMESTAMP_WINDOW_S:
        return _reject(STALE_TIMESTAMP, ILLEGAL_PARAMETER, "timestamp expired")
    for name in ("token", "tx_id"):
        if not isinstance(body.get(name), str) or not body[name]:
            return _reject(BAD_REQUEST, ILLEGAL_PARAMETER, f"{name} is required")
    return Lookup(merchant, body["tx_id"])


def render(answer: str, tx: Transaction | None, context: AnswerContext) -> Reply:
    if tx is not None and answer in _STATES:
        data = {"currency": tx.currency, "amount": str(tx.signed_amount), "state": _STATES[answer]}
        return json_reply({"code": 0, "msg": "ok", "data": data})
    if answer == "rate_limited":
        return _error(TOO_FREQUENT, "request too frequent")
    if answer == "auth_error":
        return _error(SIGNATURE_FAILED, "signature failed")
    return _error(TRANSFER_NOT_FOUND, "transfer transaction not found")


MINIGAME = ProviderKind(KIND, "POST", "/api/cash/v1/transfer/status", verify, render)
