"""Builders and helpers shared by the provider adapter tests."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from worker.domain.policy import Policy
from worker.domain.types import Direction, TransferRef
from worker.providers.base import ProviderAdapter, Verdict
from worker.providers.instance import ProviderInstance
from worker.providers.registry import ADAPTERS

BASE_URL = "https://provider.test"


@dataclass(frozen=True)
class Seed:
    """One provider as its seed document shows it: our credentials for it, its example answer
    (verbatim), the transfer of ours that answer is about, and its not-found answer if it shows
    one."""

    kind: str
    credentials: dict[str, Any]
    answer: bytes
    transfer: TransferRef
    not_found: bytes = b""

    @property
    def document(self) -> dict[str, Any]:
        """The example answer parsed, a fresh copy each time."""
        document: dict[str, Any] = json.loads(self.answer)
        return document


def make_instance(kind: str, credentials: dict[str, Any], base_url: str = BASE_URL,
                  **timeouts: Any) -> ProviderInstance:
    settings = ADAPTERS[kind].Settings.model_validate(credentials)
    return ProviderInstance(name=f"{kind}-test", kind=kind, base_url=base_url,
                            settings=settings, policy=Policy(), **timeouts)


def make_adapter(kind: str, credentials: dict[str, Any], **instance: Any) -> ProviderAdapter:
    return ADAPTERS[kind](make_instance(kind, credentials, **instance))


def make_transfer(**facts: Any) -> TransferRef:
    defaults: dict[str, Any] = {
        "provider": "test",
        "tx_id": "tx-1",
        "direction": Direction.DEPOSIT,
        "player_id": "player-1",
        "player_ref": None,
        "amount": Decimal("10.0000"),
        "currency": "USD",
        "sent_at": datetime(2024, 4, 1, 12, 0, tzinfo=UTC),
    }
    return TransferRef(**{**defaults, **facts})


def body_of(document: Any) -> bytes:
    return json.dumps(document).encode()


def edited(document: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A deep copy of a JSON answer with the field at dotted `path` set to `value`."""
    copy, parent, name = _copy_at(document, path)
    parent[name] = value
    return copy


def without(document: dict[str, Any], path: str) -> dict[str, Any]:
    """A deep copy of a JSON answer without the field at dotted `path`."""
    copy, parent, name = _copy_at(document, path)
    del parent[name]
    return copy


def _copy_at(document: dict[str, Any], path: str) -> tuple[dict[str, Any], dict[str, Any], str]:
    copy = json.loads(json.dumps(document))
    *parents, name = path.split(".")
    parent = copy
    for step in parents:
        parent = parent[step]
    return copy, parent, name


def assert_settings_rules(kind: str, credentials: dict[str, Any]) -> None:
    """Each credential is required, and an unknown key is refused, not ignored."""
    for name in credentials:
        partial = {key: value for key, value in credentials.items() if key != name}
        with pytest.raises(ValidationError, match=name):
            ADAPTERS[kind].Settings.model_validate(partial)
    with pytest.raises(ValidationError, match="extra"):
        ADAPTERS[kind].Settings.model_validate({**credentials, "surprise": "1"})


def classify(seed: Seed, answer: bytes | dict[str, Any] | None = None,
             transfer: TransferRef | dict[str, Any] | None = None, http_status: int = 200,
             **settings: Any) -> Verdict:
    """The seed's adapter (its credentials plus `settings`) classifying `answer` (bytes as sent,
    or a JSON document; the seed's own answer by default) for `transfer` (the seed's transfer, or
    that transfer with the given facts changed)."""
    if answer is None:
        answer = seed.answer
    body = answer if isinstance(answer, bytes) else body_of(answer)
    if transfer is None:
        transfer = seed.transfer
    elif isinstance(transfer, dict):
        transfer = replace(seed.transfer, **transfer)
    adapter = make_adapter(seed.kind, {**seed.credentials, **settings})
    return adapter.classify(transfer, http_status, body)
