"""The merchants (operator accounts) the simulated providers accept, with their credentials.

Each kind names its credentials as the resolver's provider file does; the first one identifies
the merchant in requests and in the control API:

    minigame  appid, key                        lucko  agent_id, key
    hrg       agent_id, api_key                 vct    api_key, api_secret
    naga      brand_code, group_code, secret_key

A VCT merchant may also have a `member_prefix`, as on the hub: its `hub_member_id`s are then
`{member_prefix}_{player}`.

Merchants come from a provider TOML file (`[providers.NAME] kind = ...` with a
`[providers.NAME.credentials]` table; `${VAR}` is read from the environment; other keys and
other kinds are ignored) and from `POST /_sim/merchants`.
"""

from __future__ import annotations

import os
import threading
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from worker.process.config_files import Fail, expand

CREDENTIALS: dict[str, tuple[str, ...]] = {
    "minigame": ("appid", "key"),
    "lucko": ("agent_id", "key"),
    "hrg": ("agent_id", "api_key"),
    "vct": ("api_key", "api_secret"),
    "naga": ("brand_code", "group_code", "secret_key"),
}
# Settings a merchant of the kind may have; the simulator answers with them when present.
OPTIONAL: dict[str, tuple[str, ...]] = {"vct": ("member_prefix",)}
KINDS = tuple(CREDENTIALS)


class MerchantError(ValueError):
    """Credentials the simulator cannot use; the message names the kind or file and the field."""


@dataclass(frozen=True, slots=True)
class Merchant:
    kind: str
    merchant_id: str  # appid / agent_id / agent_id / api_key / brand_code
    credentials: dict[str, str]

    def secret(self, name: str) -> str:
        return self.credentials[name]

    def setting(self, name: str) -> str | None:
        """One of the kind's optional settings, None when the merchant has none."""
        return self.credentials.get(name)


def make_merchant(kind: Any, credentials: Any, where: str = "merchant") -> Merchant:
    if kind not in CREDENTIALS:
        raise MerchantError(f"{where}: kind must be one of {', '.join(KINDS)}")
    if not isinstance(credentials, dict):
        raise MerchantError(f"{where}: credentials must be an object")
    values: dict[str, str] = {}
    for name in CREDENTIALS[kind]:
        value = credentials.get(name)
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str) or not value:
            raise MerchantError(f"{where}: credentials.{name} is required for kind {kind}")
        values[name] = value
    for name in OPTIONAL.get(kind, ()):
        value = credentials.get(name)
        if value is not None and (not isinstance(value, str) or not value):
            raise MerchantError(f"{where}: credentials.{name} must be a non-empty string")
        if value is not None:
            values[name] = value
    return Merchant(kind, values[CREDENTIALS[kind][0]], values)


def load_merchants_file(path: str | os.PathLike[str]) -> list[Merchant]:
    """The merchants of every instance of a known kind in a resolver-style provider file."""
    file = Path(path)
    try:
        document = tomllib.loads(file.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise MerchantError(f"{file}: {exc}") from None
    providers = document.get("providers", {})
    if not isinstance(providers, dict):
        raise MerchantError(f"{file}: [providers] must be a table")
    merchants = []
    for name, table in providers.items():
        if not isinstance(table, dict) or table.get("kind") not in CREDENTIALS:
            continue
        where = f"{file}: providers.{name}"
        credentials = expand(table.get("credentials", {}), _failing_at(f"{where}.credentials"))
        merchants.append(make_merchant(table["kind"], credentials, where))
    return merchants


def _failing_at(where: str) -> Fail:
    def fail(field: str, message: str) -> MerchantError:
        return MerchantError(f"{where}.{field}: {message}" if field else f"{where}: {message}")

    return fail


class MerchantDirectory:
    """Merchants by (kind, merchant id); safe to use from several threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._merchants: dict[tuple[str, str], Merchant] = {}

    def add(self, merchant: Merchant) -> None:
        with self._lock:
            self._merchants[(merchant.kind, merchant.merchant_id)] = merchant

    def get(self, kind: str, merchant_id: str) -> Merchant | None:
        return self._merchants.get((kind, merchant_id))

    def only_one(self, kind: str) -> Merchant | None:
        """The merchant of this kind when there is exactly one."""
        with self._lock:
            found = [m for (k, _), m in self._merchants.items() if k == kind]
        return found[0] if len(found) == 1 else None

    def listing(self) -> list[dict[str, str]]:
        with self._lock:
            return [{"kind": m.kind, "merchant": m.merchant_id} for m in self._merchants.values()]

    def clear(self) -> None:
        with self._lock:
            self._merchants.clear()
