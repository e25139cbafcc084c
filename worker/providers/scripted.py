"""A provider that answers from scripts held in memory: the stub sibling of the real adapters.

Tests load a script per transaction (`SCRIPTS.load("inst", "tx-1", [PENDING, PENDING, SUCCEEDED])`);
each query takes the next answer, the last one repeats, and a transfer with no script is
NOT_FOUND. `SCRIPTS.record(...)` gives a transaction the amount (and currency) the provider's
record states, as an amount mismatch would carry it. It makes no HTTP call, so it only serves
a worker running in the same process.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal
from typing import ClassVar

from pydantic import BaseModel, ConfigDict

from worker.domain.types import Outcome, TransferRef
from worker.providers.answers import Record, judge
from worker.providers.base import CheckResult, ProviderAdapter, StatusRequest, Verdict


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ScriptBook:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._scripts: dict[tuple[str, str], list[Outcome]] = {}
        self._records: dict[tuple[str, str], tuple[Decimal, str | None]] = {}
        self.queries: dict[tuple[str, str], int] = defaultdict(int)

    def load(self, provider: str, tx_id: str, answers: Iterable[Outcome]) -> None:
        with self._lock:
            self._scripts[(provider, tx_id)] = list(answers)
            self.queries[(provider, tx_id)] = 0

    def record(self, provider: str, tx_id: str, amount: Decimal,
               currency: str | None = None) -> None:
        with self._lock:
            self._records[(provider, tx_id)] = (amount, currency)

    def recorded(self, provider: str, tx_id: str) -> tuple[Decimal | None, str | None]:
        with self._lock:
            return self._records.get((provider, tx_id), (None, None))

    def next_answer(self, provider: str, tx_id: str) -> Outcome:
        with self._lock:
            key = (provider, tx_id)
            script = self._scripts.get(key)
            self.queries[key] += 1
            if not script:
                return Outcome.NOT_FOUND
            return script.pop(0) if len(script) > 1 else script[0]

    def clear(self) -> None:
        with self._lock:
            self._scripts.clear()
            self._records.clear()
            self.queries.clear()


SCRIPTS = ScriptBook()


class Adapter(ProviderAdapter[Settings]):
    kind: ClassVar[str] = "scripted"
    Settings: ClassVar[type[BaseModel]] = Settings

    def build_request(self, transfer: TransferRef, now: float) -> StatusRequest:
        return StatusRequest("GET", f"{self.instance.base_url}/status/{transfer.tx_id}")

    def classify(self, transfer: TransferRef, http_status: int, body: bytes) -> Verdict:
        return Verdict(Outcome(body.decode()))

    def check(self, transfer: TransferRef, deadline_s: float | None = None) -> CheckResult:
        started = time.monotonic()
        outcome = SCRIPTS.next_answer(self.instance.name, transfer.tx_id)
        request = self.build_request(transfer, time.time())
        verdict = self.classify(transfer, 200, outcome.value.encode())
        amount, currency = SCRIPTS.recorded(self.instance.name, transfer.tx_id)
        detail = f"scripted answer {outcome.value}"
        if outcome is Outcome.MISMATCH and amount is not None:
            # What differs, in the words a real adapter's comparison uses (answers.judge).
            judged = judge(transfer, Record(Outcome.SUCCEEDED, "SUCCESS", amount=amount,
                                            currency=currency))
            detail = judged.detail or detail
        return CheckResult(
            outcome=verdict.outcome,
            detail=detail,
            http_status=200,
            latency_ms=int((time.monotonic() - started) * 1000),
            request=request.describe(),
            raw=outcome.value,
            transport_error=outcome is Outcome.RETRY,
            provider_amount=amount,
            provider_currency=currency,
        )
