"""The simulator's memory: the transactions each provider holds, their scripts, and query counts.

A transaction is keyed by (kind, tx_id) and belongs to one merchant; a query signed by another
merchant does not see it. Loading a (kind, tx_id) again replaces it and restarts its script.
Every method takes one short lock, so the store can be used from the event loop and from test
threads at once.
"""

from __future__ import annotations

import threading
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from resolver_tools.sim.merchants import CREDENTIALS, MerchantDirectory
from resolver_tools.sim.script import NOT_FOUND_STEP, ScriptError, Step, parse_script

DIRECTIONS = ("deposit", "withdraw")
TX_ID_LIMITS = {"hrg": 30, "naga": 255}  # the vendors' documented field lengths
DEFAULT_BALANCE = Decimal("1000.00")
ANSWERS_KEPT = 1000  # per transaction, the most recent
_PROVIDER_ID_NAMESPACE = uuid.UUID("5b0f3c7e-2d7a-4c1e-9a43-7f1d3c9e8a10")
_TX_KEYS = frozenset(
    {"kind", "merchant", "tx_id", "direction", "amount", "currency", "player", "script",
     "record", "balance_before"}
)
_RECORD_KEYS = frozenset({"amount", "currency", "player", "direction"})


class TransactionError(ValueError):
    """A transaction the simulator cannot load; the message says which field and why."""


@dataclass(slots=True)
class Transaction:
    """The provider's record of one transfer, and the script of answers about it."""

    kind: str
    merchant_id: str
    tx_id: str
    direction: str
    amount: Decimal  # positive; the direction gives the sign
    currency: str
    player: str
    balance_before: Decimal
    created_at: float
    script: tuple[Step, ...]
    provider_tx_id: str = ""  # the provider's own id for it (a UUID derived from the tx id)
    step_index: int = 0
    step_uses: int = 0
    queries: int = 0
    answers: list[str] = field(default_factory=list)

    @property
    def signed_amount(self) -> Decimal:
        return self.amount if self.direction == "deposit" else -self.amount

    @property
    def balance_after(self) -> Decimal:
        return self.balance_before + self.signed_amount

    def take_step(self) -> Step:
        step = self.script[self.step_index]
        self.queries += 1
        self.step_uses += 1
        if self.step_uses >= step.times and self.step_index < len(self.script) - 1:
            self.step_index += 1
            self.step_uses = 0
        self.answers.append(step.answer)
        if len(self.answers) > ANSWERS_KEPT:
            del self.answers[: len(self.answers) - ANSWERS_KEPT]
        return step

    def describe(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "merchant": self.merchant_id,
            "tx_id": self.tx_id,
            "provider_tx_id": self.provider_tx_id,
            "loaded": True,
            "record": {
                "direction": self.direction,
                "amount": str(self.amount),
                "currency": self.currency,
                "player": self.player,
            },
            "queries": self.queries,
            "answers": list(self.answers),
        }


def parse_transaction(
    raw: Any, merchants: MerchantDirectory, now: float, where: str = "transaction"
) -> Transaction:
    """One control-API transaction object -> Transaction (the `record` override applied)."""

    def fail(message: str) -> TransactionError:
        return TransactionError(f"{where}: {message}")

    if not isinstance(raw, dict):
        raise fail("must be an object")
    unknown = set(raw) - _TX_KEYS
    if unknown:
        raise fail(f"unknown key {sorted(unknown)[0]!r}")
    kind = raw.get("kind")
    if kind not in CREDENTIALS:
        raise fail(f"kind must be one of {', '.join(CREDENTIALS)}")
    merchant_id = raw.get("merchant")
    if merchant_id is None:
        only = merchants.only_one(kind)
        if only is None:
            raise fail(f"merchant is required (the {kind} merchant's {CREDENTIALS[kind][0]})")
        merchant_id = only.merchant_id
    if not isinstance(merchant_id, str) or merchants.get(kind, merchant_id) is None:
        raise fail(f"merchant {merchant_id!r} of kind {kind} is not registered")
    tx_id = raw.get("tx_id")
    limit = TX_ID_LIMITS.get(kind, 255)
    if not isinstance(tx_id, str) or not tx_id or len(tx_id) > limit or "/" in tx_id:
        raise fail(f"tx_id must be a string of 1..{limit} characters without '/' for {kind}")

    record = raw.get("record") or {}
    if not isinstance(record, dict) or set(record) - _RECORD_KEYS:
        raise fail(f"record may only override {', '.join(sorted(_RECORD_KEYS))}")
    fields: dict[str, Any] = {name: record.get(name, raw.get(name)) for name in _RECORD_KEYS}
    if fields["direction"] not in DIRECTIONS:
        raise fail("direction must be deposit or withdraw")
    amount = _decimal(fields["amount"], "amount", fail)
    if amount <= 0:
        raise fail("amount must be positive (the direction gives the sign)")
    for name in ("currency", "player"):
        if not isinstance(fields[name], str) or not fields[name]:
            raise fail(f"{name} must be a non-empty string")
    if "balance_before" in raw:
        balance_before = _decimal(raw["balance_before"], "balance_before", fail)
    elif fields["direction"] == "withdraw":
        balance_before = DEFAULT_BALANCE + amount
    else:
        balance_before = DEFAULT_BALANCE
    try:
        script = parse_script(raw.get("script"))
    except ScriptError as exc:
        raise fail(str(exc)) from None
    return Transaction(
        kind=kind,
        merchant_id=merchant_id,
        tx_id=tx_id,
        direction=fields["direction"],
        amount=amount,
        currency=fields["currency"],
        player=fields["player"],
        balance_before=balance_before,
        created_at=now,
        script=script,
        provider_tx_id=str(uuid.uuid5(_PROVIDER_ID_NAMESPACE, f"{kind}/{merchant_id}/{tx_id}")),
    )


def _decimal(value: Any, name: str, fail: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise fail(f"{name} must be a decimal string such as \"12.50\"")
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise fail(f"{name} must be a decimal string such as \"12.50\"") from None
    if not number.is_finite():
        raise fail(f"{name} must be a finite number")
    return number


class TransactionStore:
    """The transactions of every kind, and the queries for ids nobody loaded."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._transactions: dict[tuple[str, str], Transaction] = {}
        self._by_provider_id: dict[tuple[str, str], str] = {}
        self._unknown_queries: dict[tuple[str, str], int] = defaultdict(int)

    def load(self, transactions: list[Transaction]) -> None:
        with self._lock:
            for tx in transactions:
                self._transactions[(tx.kind, tx.tx_id)] = tx
                self._by_provider_id[(tx.kind, tx.provider_tx_id)] = tx.tx_id
                self._unknown_queries.pop((tx.kind, tx.tx_id), None)

    def take_step(
        self, kind: str, merchant_id: str, asked_id: str, provider_id_too: bool = False
    ) -> tuple[Transaction | None, Step]:
        """The merchant's transaction under this id and the answer its script gives now."""
        with self._lock:
            tx = self._transactions.get((kind, asked_id))
            if tx is None and provider_id_too:
                tx_id = self._by_provider_id.get((kind, asked_id))
                tx = self._transactions.get((kind, tx_id)) if tx_id else None
            if tx is None or tx.merchant_id != merchant_id:
                self._unknown_queries[(kind, asked_id)] += 1
                return None, NOT_FOUND_STEP
            return tx, tx.take_step()

    def describe(self, kind: str, tx_id: str) -> dict[str, Any]:
        with self._lock:
            tx = self._transactions.get((kind, tx_id))
            if tx is not None:
                return tx.describe()
            queries = self._unknown_queries.get((kind, tx_id), 0)
            return {
                "kind": kind,
                "tx_id": tx_id,
                "loaded": False,
                "queries": queries,
                "answers": ["not_found"] * min(queries, ANSWERS_KEPT),
            }

    def count(self) -> int:
        return len(self._transactions)

    def clear(self) -> None:
        with self._lock:
            self._transactions.clear()
            self._by_provider_id.clear()
            self._unknown_queries.clear()


class QueryStats:
    """Queries per kind and per outcome (an answer name, or why the request was rejected)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[str, dict[str, int]] = {}

    def count(self, kind: str, outcome: str) -> None:
        with self._lock:
            outcomes = self._counts.setdefault(kind, {})
            outcomes[outcome] = outcomes.get(outcome, 0) + 1

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            kinds = {
                kind: {"queries": sum(outcomes.values()), "outcomes": dict(outcomes)}
                for kind, outcomes in self._counts.items()
            }
        return {"queries": sum(k["queries"] for k in kinds.values()), "kinds": kinds}

    def clear(self) -> None:
        with self._lock:
            self._counts.clear()
