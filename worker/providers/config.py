"""Reads the provider instances from the TOML file named by RESOLVER_PROVIDERS_FILE.

    [providers.NAME]            kind, base_url, timeout_s, connect_timeout_s, deadline_s, …
    [providers.NAME.credentials] the kind's credentials and assumption settings
    [providers.NAME.policy]      how the instance is polled (durations such as "10s", "5m", "72h")
    four_eyes_from = { EUR = "1000.00" }   per currency, from which amount a manual resolution
                                 needs a second operator (any other currency always needs one)

`${VAR}` in any string is replaced by the environment variable VAR, so secrets stay out of the
file. Every mistake stops start-up with one message naming the file, the instance and the field.
Commands that only read the database load the file with `secrets_required=False`: an unset
variable is then noted on the instance (`unset_variables`), which refuses every provider call.

Each table is read by its model (`ProviderTable`, `PolicyTable`, the kind's `Settings`), whose
durations and timeouts are the types the webhooks file uses too (worker.process.config_types).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Generic, Self, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    ValidationInfo,
    field_validator,
    model_validator,
)

from worker.domain.money import InvalidMoney, parse_amount, parse_currency
from worker.domain.policy import Policy
from worker.process.config_files import (
    ConfigError,
    NamedPlace,
    named_table,
    read_toml,
    validated,
)
from worker.process.config_types import Duration, Timeout, parse_duration
from worker.providers.instance import ProviderInstance

__all__ = ["ConfigError", "load_providers", "parse_duration", "parse_providers"]

SettingsT = TypeVar("SettingsT", bound=BaseModel)
_URL = re.compile(r"^https?://[^\s/]+")


def _number(convert: Callable[[float], Any]) -> PlainValidator:
    def check(value: object) -> Any:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError("must be a number")
        return convert(value)

    return PlainValidator(check)


def _schedule(value: object) -> tuple[timedelta, ...]:
    if not isinstance(value, list) or not value:
        raise ValueError("must be a non-empty list of durations")
    return tuple(parse_duration(step) for step in value)


def _currencies(value: object) -> frozenset[str]:
    """The currencies the instance deals in; intake refuses any other."""
    if not isinstance(value, list) or not value:
        raise ValueError("must be a non-empty list of currency codes such as [\"EUR\"]")
    codes = set()
    for code in value:
        try:
            codes.add(parse_currency(code))  # the rule intake applies, so every code can match
        except InvalidMoney:
            raise ValueError(f"{code!r} is not a currency code such as EUR") from None
    return frozenset(codes)


def _four_eyes(value: object) -> tuple[tuple[str, Decimal], ...]:
    """`four_eyes_from = { EUR = "1000.00" }`: amounts as strings, like every amount we read."""
    if not isinstance(value, dict):
        raise ValueError('must be a table of currency = "amount", such as { EUR = "1000.00" }')
    found: dict[str, Decimal] = {}
    for code, amount in value.items():
        try:
            currency = parse_currency(code)
        except InvalidMoney:
            raise ValueError(f"{code!r} is not a currency code such as EUR") from None
        try:
            found[currency] = parse_amount(amount, f"four_eyes_from.{currency}")
        except InvalidMoney as exc:
            raise NamedPlace(exc.field, exc.message) from None
    return tuple(sorted(found.items()))


def _flag(value: object) -> bool:
    if not isinstance(value, bool):
        raise ValueError("must be true or false")
    return value


Count = Annotated[int, _number(int)]
Rate = Annotated[float, _number(float)]
Schedule = Annotated[tuple[timedelta, ...], PlainValidator(_schedule)]


class PolicyTable(BaseModel):
    """`[providers.NAME.policy]`: what is left out keeps `Policy`'s default."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    initial_delay: Duration | None = None
    schedule: Schedule | None = None
    max_age: Duration | None = None
    not_found_grace: Duration | None = None
    not_found_confirmations: Count | None = None
    jitter: Rate | None = None
    rate_limited_delay: Duration | None = None
    concurrency: Count | None = None
    rate_limit_per_s: Rate | None = None
    breaker_threshold: Count | None = None
    breaker_cooldown: Duration | None = None
    in_flight_deadline: Duration | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        self.policy()  # Policy refuses what no single field shows (a jitter above 1, …)
        return self

    def policy(self) -> Policy:
        return Policy(**self.model_dump(exclude_unset=True))


class ProviderTable(BaseModel, Generic[SettingsT]):
    """`[providers.NAME]`, its credentials read by the kind's own settings model. The fields
    are checked in this order, and the first mistake is the one reported."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: str
    allow_insecure_http: Annotated[bool, PlainValidator(_flag)] = False
    base_url: str = Field(None, validate_default=True)
    timeout_s: Timeout = 10.0  # read timeout of one HTTP call
    connect_timeout_s: Timeout = 3.0
    deadline_s: Timeout = 30.0  # one status query, across its quick retries
    credentials: SettingsT = Field({}, validate_default=True)
    policy: PolicyTable = PolicyTable()
    currencies: Annotated[frozenset[str] | None, PlainValidator(_currencies)] = None
    four_eyes_from: Annotated[tuple[tuple[str, Decimal], ...], PlainValidator(_four_eyes)] = ()

    @field_validator("base_url", mode="plain")
    @classmethod
    def _base_url(cls, value: object, info: ValidationInfo) -> str:
        if not isinstance(value, str) or not _URL.match(value):
            raise ValueError("must be an http:// or https:// URL")
        if value.startswith("http://") and not info.data.get("allow_insecure_http", False):
            # Credentials travel in headers (HRG's Basic header carries the API key itself).
            raise ValueError("plain http:// sends credentials in clear; use https:// "
                             "or set allow_insecure_http = true (a simulator, a test)")
        return value.rstrip("/")


def load_providers(path: str | os.PathLike[str], *,
                   secrets_required: bool = True) -> dict[str, ProviderInstance]:
    document = read_toml(path, "provider file not found (set RESOLVER_PROVIDERS_FILE)")
    return parse_providers(document, str(Path(path)), secrets_required=secrets_required)


def parse_providers(document: dict[str, Any], source: str, *,
                    secrets_required: bool = True) -> dict[str, ProviderInstance]:
    providers = document.get("providers")
    if not isinstance(providers, dict) or not providers:
        raise ConfigError(f"{source}: no [providers.NAME] table")
    unknown = set(document) - {"providers"}
    if unknown:
        raise ConfigError(f"{source}: unknown top-level key {sorted(unknown)[0]!r}")
    return {
        name: _instance(source, name, table, secrets_required)
        for name, table in providers.items()
    }


def _instance(source: str, name: str, table: Any, secrets_required: bool = True
              ) -> ProviderInstance:
    from worker.providers.registry import ADAPTERS  # the registry imports the adapters

    unset: set[str] | None = None if secrets_required else set()
    table, fail = named_table(source, "providers", name, table, unset)
    kind = table.get("kind")  # first: the kind names the model of the credentials
    if not isinstance(kind, str) or kind not in ADAPTERS:
        raise fail("kind", f"unknown kind {kind!r}; expected one of {', '.join(sorted(ADAPTERS))}")
    settings: type[BaseModel] = ADAPTERS[kind].Settings
    read = validated(ProviderTable[settings], table, fail)  # type: ignore[valid-type]
    return ProviderInstance(
        name=name,
        kind=kind,
        base_url=read.base_url,
        settings=read.credentials,
        policy=read.policy.policy(),
        timeout_s=read.timeout_s,
        connect_timeout_s=read.connect_timeout_s,
        deadline_s=read.deadline_s,
        currencies=read.currencies,
        allow_insecure_http=read.allow_insecure_http,
        unset_variables=tuple(sorted(unset or ())),
        four_eyes_from=read.four_eyes_from,
    )
