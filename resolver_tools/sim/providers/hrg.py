"""Hot Road Gaming: POST /api/check_transfer_operation, JSON {"agentId","transactionCode"}.

Authorization: Basic base64(agentId:apiKey), and the body's agentId must be that agent.
Answers are HTTP 200 with a four-character `code`. HRG keeps a record only of an operation it
applied, so "0000" with data means succeeded; a pending, failed or unknown transaction answers
the not-found code. The vendor's code sheet is not public, so these codes are the simulator's
choice: not found "0404" (setting `hrg_not_found_code`), credentials "0401", rate limit
"0429", bad request or content type "0400".
"""

from __future__ import annotations

import base64
import binascii
import json

from resolver_tools.sim.exchange import Reply, SimRequest, json_reply
from resolver_tools.sim.merchants import MerchantDirectory
from resolver_tools.sim.providers.base import (
    AUTH_REJECTED,
    BAD_CONTENT_TYPE,
    BAD_REQUEST,
    UNKNOWN_MERCHANT,
    AnswerContext,
    Lookup,
    ProviderKind,
    Rejection,
    same_secret,
)
from resolver_tools.sim.providers.timefmt import gmt8_millis_compact
from resolver_tools.sim.store import Transaction

KIND = "hrg"
SUCCESS = "0000"
BAD_PARAMETERS = "0400"
UNAUTHORIZED = "0401"
RATE_LIMITED = "0429"
AGENT_ID_MAX = 50
TRANSACTION_CODE_MAX = 30


def _error(code: str, message: str) -> Reply:
    return json_reply({"code": code, "message": message})


def _reject(outcome: str, code: str, message: str) -> Rejection:
    return Rejection(outcome, _error(code, message))


def _basic_credentials(header: str) -> tuple[str, str] | None:
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded:
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    agent_id, colon, api_key = decoded.partition(":")
    return (agent_id, api_key) if colon else None


def verify(request: SimRequest, merchants: MerchantDirectory, now: float) -> Lookup | Rejection:
    credentials = _basic_credentials(request.headers.get("authorization", ""))
    if credentials is None:
        return _reject(AUTH_REJECTED, UNAUTHORIZED, "missing or malformed Basic credentials")
    merchant = merchants.get(KIND, credentials[0])
    if merchant is None:
        return _reject(UNKNOWN_MERCHANT, UNAUTHORIZED, "unknown agent")
    if not same_secret(credentials[1], merchant.secret("api_key")):
        return _reject(AUTH_REJECTED, UNAUTHORIZED, "wrong api key")
    if request.media_type() != "application/json":
        return _reject(BAD_CONTENT_TYPE, BAD_PARAMETERS, "Content-Type must be application/json")
    try:
        body = json.loads(request.body)
    except ValueError:
        return _reject(BAD_REQUEST, BAD_PARAMETERS, "body is not JSON")
    if not isinstance(body, dict):
        return _reject(BAD_REQUEST, BAD_PARAMETERS, "body is not a JSON object")
    agent_id, code = body.get("agentId"), body.get("transactionCode")
    if not isinstance(agent_id, str) or not 0 < len(agent_id) <= AGENT_ID_MAX:
        return _reject(BAD_REQUEST, BAD_PARAMETERS, "agentId is required (<= 50 characters)")
    if not isinstance(code, str) or not 0 < len(code) <= TRANSACTION_CODE_MAX:
        message = "transactionCode is required (<= 30 characters)"
        return _reject(BAD_REQUEST, BAD_PARAMETERS, message)
    if agent_id != merchant.merchant_id:
        return _reject(AUTH_REJECTED, UNAUTHORIZED, "agentId does not match the credentials")
    return Lookup(merchant, code)


def render(answer: str, tx: Transaction | None, context: AnswerContext) -> Reply:
    if tx is not None and answer == "succeeded":
        data = {
            "transactionCode": tx.tx_id,
            "agentId": tx.merchant_id,
            "userId": tx.player,
            "amount": str(tx.signed_amount),
            "freeCredit": "0.0",
            "preBalance": str(tx.balance_before),
            "preFreeCredit": "0.0",
            "currentBalance": str(tx.balance_after),
            "currentFreeCredit": "0.0",
            "createDate": gmt8_millis_compact(tx.created_at),
        }
        return json_reply({"code": SUCCESS, "data": data})
    if answer == "rate_limited":
        return _error(RATE_LIMITED, "too many requests")
    if answer == "auth_error":
        return _error(UNAUTHORIZED, "unauthorized")
    return _error(context.settings.hrg_not_found_code, "transaction not found")


HRG = ProviderKind(KIND, "POST", "/api/check_transfer_operation", verify, render)
