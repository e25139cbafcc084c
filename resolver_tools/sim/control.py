"""The control API under /_sim/ (JSON, no authentication): what tests and the demo drive.

    GET  /_sim/health                         {"ok": true, "transactions": N}
    GET  /_sim/merchants                      [{"kind", "merchant"}, ...]
    POST /_sim/merchants                      {"kind", "credentials": {...}}
    POST /_sim/reset                          forget transactions, counts, settings;
                                              {"merchants": true} forgets merchants too
    POST /_sim/transactions                   [tx, ...] or {"transactions": [tx, ...]}
    GET  /_sim/transactions/{kind}/{tx_id}    {"queries", "answers", "record", ...}
    GET  /_sim/stats                          queries per kind and per outcome
    GET  /_sim/settings, POST /_sim/settings  {latency_ms, error_rate, seed,
                                               hrg_not_found_code, clock_offset_s}

Errors answer HTTP 400 `{"error": "..."}` naming the field; a batch of transactions loads
entirely or not at all.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from resolver_tools.sim.exchange import Reply, SimRequest, json_reply
from resolver_tools.sim.merchants import CREDENTIALS, MerchantError, make_merchant
from resolver_tools.sim.simulator import SettingsError, Simulator
from resolver_tools.sim.store import TransactionError, parse_transaction

CONTROL_PREFIX = "/_sim/"
_TRANSACTION_PREFIX = "/_sim/transactions/"


class ControlError(ValueError):
    """A control request the simulator refuses (HTTP 400)."""


def handle_control(simulator: Simulator, request: SimRequest) -> Reply:
    route = (request.method, request.path.rstrip("/"))
    handler = _ROUTES.get(route)
    try:
        if handler is not None:
            return handler(simulator, request)
        if request.method == "GET" and request.path.startswith(_TRANSACTION_PREFIX):
            return _describe_transaction(simulator, request)
    except (ControlError, TransactionError, MerchantError, SettingsError) as exc:
        return json_reply({"error": str(exc)}, 400)
    return json_reply({"error": f"no control route {request.method} {request.path}"}, 404)


def _json_body(request: SimRequest, default: Any = None) -> Any:
    if not request.body.strip():
        if default is not None:
            return default
        raise ControlError("a JSON body is required")
    try:
        return json.loads(request.body)
    except ValueError as exc:
        raise ControlError(f"body is not JSON: {exc}") from None


def _health(simulator: Simulator, request: SimRequest) -> Reply:
    return json_reply({"ok": True, "transactions": simulator.store.count()})


def _list_merchants(simulator: Simulator, request: SimRequest) -> Reply:
    return json_reply(simulator.merchants.listing())


def _add_merchant(simulator: Simulator, request: SimRequest) -> Reply:
    body = _json_body(request)
    if not isinstance(body, dict):
        raise ControlError("body must be {\"kind\": ..., \"credentials\": {...}}")
    merchant = make_merchant(body.get("kind"), body.get("credentials"))
    simulator.merchants.add(merchant)
    return json_reply({"kind": merchant.kind, "merchant": merchant.merchant_id})


def _reset(simulator: Simulator, request: SimRequest) -> Reply:
    body = _json_body(request, default={})
    if not isinstance(body, dict):
        raise ControlError("body must be an object such as {\"merchants\": true}")
    simulator.reset(merchants=bool(body.get("merchants", False)))
    return json_reply({"ok": True})


def _load_transactions(simulator: Simulator, request: SimRequest) -> Reply:
    body = _json_body(request)
    if isinstance(body, dict) and "transactions" in body:
        body = body["transactions"]
    if not isinstance(body, list):
        raise ControlError("body must be a list of transactions")
    now = simulator.now()
    transactions = [
        parse_transaction(raw, simulator.merchants, now, f"transactions[{index}]")
        for index, raw in enumerate(body)
    ]
    simulator.store.load(transactions)
    return json_reply({"loaded": len(transactions)})


def _describe_transaction(simulator: Simulator, request: SimRequest) -> Reply:
    kind, _, tx_id = request.path[len(_TRANSACTION_PREFIX):].partition("/")
    if kind not in CREDENTIALS or not tx_id:
        raise ControlError("path is /_sim/transactions/{kind}/{tx_id}")
    return json_reply(simulator.store.describe(kind, tx_id))


def _stats(simulator: Simulator, request: SimRequest) -> Reply:
    return json_reply(simulator.stats.snapshot())


def _get_settings(simulator: Simulator, request: SimRequest) -> Reply:
    return json_reply(asdict(simulator.settings))


def _set_settings(simulator: Simulator, request: SimRequest) -> Reply:
    return json_reply(simulator.update_settings(_json_body(request)))


_ROUTES: dict[tuple[str, str], Callable[[Simulator, SimRequest], Reply]] = {
    ("GET", "/_sim/health"): _health,
    ("GET", "/_sim/merchants"): _list_merchants,
    ("POST", "/_sim/merchants"): _add_merchant,
    ("POST", "/_sim/reset"): _reset,
    ("POST", "/_sim/transactions"): _load_transactions,
    ("GET", "/_sim/stats"): _stats,
    ("GET", "/_sim/settings"): _get_settings,
    ("POST", "/_sim/settings"): _set_settings,
}
