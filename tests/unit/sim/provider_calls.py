"""Signed requests built from the providers' documented recipes, and readers of their answers.

Written from PROVIDERS.md alone, independently of both the simulator and the adapters.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import requests
from requests import Response

MERCHANTS: dict[str, dict[str, str]] = {
    "minigame": {"appid": "1005", "key": "39a6581c31ef3203a22edb2daa2ab6d1"},
    "lucko": {"agent_id": "agent001", "key": "lucko-secret-key"},
    "hrg": {"agent_id": "hrgag", "api_key": "MjMCBR3SEbpkawR5"},
    "vct": {"api_key": "TESTAGENT", "api_secret": "vct-api-secret"},
    "naga": {"brand_code": "srot", "group_code": "dpae", "secret_key": "naga-secret-key"},
}
OTHER_MERCHANTS: dict[str, dict[str, str]] = {
    "minigame": {"appid": "2002", "key": "another-minigame-key"},
    "lucko": {"agent_id": "agent002", "key": "another-lucko-key"},
    "hrg": {"agent_id": "hrgother", "api_key": "another-hrg-key"},
    "vct": {"api_key": "OTHERAGENT", "api_secret": "another-vct-secret"},
    "naga": {"brand_code": "zzzz", "group_code": "yyyy", "secret_key": "another-naga-key"},
}
KINDS = tuple(MERCHANTS)


@dataclass
class Call:
    method: str
    target: str  # path and query string, exactly as sent
    headers: dict[str, str]
    body: bytes = b""

    def send(self, session: requests.Session, base_url: str, timeout: float = 5) -> Response:
        return session.request(
            self.method, base_url + self.target, headers=self.headers, data=self.body,
            timeout=timeout,
        )


def signed_call(
    kind: str,
    tx_id: str,
    *,
    player: str = "player-1",
    direction: str = "deposit",
    now: float | None = None,
    credentials: dict[str, str] | None = None,
    content_type: str | None = None,
) -> Call:
    """A correctly signed status query (with `credentials` instead of the merchant's if given)."""
    creds = credentials or MERCHANTS[kind]
    now = time.time() if now is None else now
    if kind == "minigame":
        query = f"trace_id=tr{int(now * 1000)}"
        fields = {"appid": creds["appid"], "timestamp": int(now), "token": player, "tx_id": tx_id}
        body = json.dumps(fields).encode()
        sign = hashlib.md5(query.encode() + body + creds["key"].encode()).hexdigest()
        headers = {"Content-Type": content_type or "application/json; charset=utf-8", "sign": sign}
        return Call("POST", f"/api/cash/v1/transfer/status?{query}", headers, body)
    if kind == "lucko":
        params = {
            "agent_id": creds["agent_id"], "user_id": player, "type": direction,
            "txn_id": tx_id, "timestamp": str(int(now * 1000)),
        }
        text = creds["key"] + "&" + "&".join(f"{k}={params[k]}" for k in sorted(params))
        params["sign"] = hashlib.md5(text.encode()).hexdigest()
        return Call("GET", "/api/wallet/check?" + urlencode(params), {})
    if kind == "hrg":
        basic = base64.b64encode(f"{creds['agent_id']}:{creds['api_key']}".encode()).decode()
        body = json.dumps({"agentId": creds["agent_id"], "transactionCode": tx_id}).encode()
        headers = {"Authorization": f"Basic {basic}",
                   "Content-Type": content_type or "application/json"}
        return Call("POST", "/api/check_transfer_operation", headers, body)
    if kind == "vct":
        seconds = str(int(now))
        mac = hmac.new(
            creds["api_secret"].encode(), f"{creds['api_key']}.{seconds}".encode(), hashlib.sha256
        ).hexdigest()
        headers = {
            "Authorization": f"Bearer {creds['api_key']}.{seconds}.{mac}",
            "Content-Type": content_type or "application/x-www-form-urlencoded",
        }
        form = urlencode({"transfer_id": tx_id}).encode()
        return Call("POST", "/papi/v1/order/status", headers, form)
    if kind == "naga":
        codes = {"brandCode": creds["brand_code"], "groupCode": creds["group_code"]}
        signed = json.dumps(codes, separators=(",", ":")).encode()
        signature = hmac.new(creds["secret_key"].encode(), signed, hashlib.sha256).hexdigest()
        query = urlencode(codes)
        target = f"/operator/transfer/transactions/{tx_id}?{query}"
        return Call("GET", target, {"X-Signature": signature, "accept": "application/json"})
    raise ValueError(kind)


_STATE_NAMES: dict[str, dict[Any, str]] = {
    "minigame": {0: "failed", 1: "succeeded", 2: "pending"},
    "lucko": {0: "pending", 1: "succeeded", 2: "failed"},
    "vct": {"success": "succeeded", "failed": "failed", "pending": "pending"},
    "naga": {"SUCCEED": "succeeded", "FAILED": "failed"},
}
_ERROR_NAMES: dict[str, dict[Any, str]] = {
    "minigame": {10020: "not_found", 10006: "rate_limited", 10002: "auth_error"},
    "lucko": {700205: "not_found", 408004: "rate_limited", 600100: "auth_error"},
    "hrg": {"0404": "not_found", "0429": "rate_limited", "0401": "auth_error"},
    "vct": {7: "not_found", 3004: "pending", 1002: "auth_error", 429: "rate_limited"},
    "naga": {1208: "not_found", 1001: "auth_error", 429: "rate_limited"},
}


def read_answer(kind: str, response: requests.Response) -> str:
    """The provider's answer in one word, as a test reads it."""
    if response.status_code >= 500:
        return "server_error"
    try:
        body = response.json()
    except ValueError:
        return "unparseable"
    code = body.get("code")
    if kind == "minigame" and code == 0:
        return _STATE_NAMES[kind][body["data"]["state"]]
    if kind == "lucko" and code == 200:
        return _STATE_NAMES[kind][body["data"]["status"]]
    if kind == "hrg" and code == "0000":
        return "succeeded"
    if kind == "vct" and code == 0:
        return _STATE_NAMES[kind][body["data"]["status"]]
    if kind == "naga" and response.status_code == 200:
        return _STATE_NAMES[kind][body["status"]]
    return _ERROR_NAMES[kind].get(code, f"code {code!r}")
