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
"""

from __future__ import annotations

import os
import re
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from worker.domain.money import InvalidMoney, parse_amount, parse_currency
from worker.domain.policy import Policy
from worker.process.config_files import ConfigError, named_table, read_toml
from worker.providers.instance import ProviderInstance

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}
_INSTANCE_KEYS = {"kind", "base_url", "timeout_s", "connect_timeout_s", "deadline_s",
                  "currencies", "allow_insecure_http", "credentials", "policy",
                  "four_eyes_from"}
_DURATIONS = {
    "initial_delay",
    "max_age",
    "not_found_grace",
    "rate_limited_delay",
    "breaker_cooldown",
    "in_flight_deadline",
}
_NUMBERS = {
    "not_found_confirmations": int,
    "concurrency": int,
    "breaker_threshold": int,
    "rate_limit_per_s": float,
    "jitter": float,
}


def parse_duration(text: object) -> timedelta:
    """'10s', '1m', '72h', '1h30m', '250ms' -> timedelta."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"{text!r} is not a duration such as '10s', '5m' or '72h'")
    compact = text.strip().replace(" ", "")
    parts = _DURATION_PART.findall(compact)
    if not parts or "".join(number + unit for number, unit in parts) != compact:
        raise ValueError(f"{text!r} is not a duration such as '10s', '5m' or '72h'")
    seconds = sum(float(number) * _UNITS[unit] for number, unit in parts)
    return timedelta(seconds=seconds)


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
    table, fail = named_table(source, "providers", name, table, _INSTANCE_KEYS, unset)

    kind = table.get("kind")
    if kind not in ADAPTERS:
        raise fail("kind", f"unknown kind {kind!r}; expected one of {', '.join(sorted(ADAPTERS))}")
    allow_insecure_http = table.get("allow_insecure_http", False)
    if not isinstance(allow_insecure_http, bool):
        raise fail("allow_insecure_http", "must be true or false")
    base_url = table.get("base_url")
    if not isinstance(base_url, str) or not re.match(r"^https?://[^\s/]+", base_url):
        raise fail("base_url", "must be an http:// or https:// URL")
    if base_url.startswith("http://") and not allow_insecure_http:
        # Credentials travel in headers (HRG's Basic header carries the API key itself).
        raise fail("base_url", "plain http:// sends credentials in clear; use https:// "
                               "or set allow_insecure_http = true (a simulator, a test)")
    timeouts = {}
    for key, default in (("timeout_s", 10.0), ("connect_timeout_s", 3.0), ("deadline_s", 30.0)):
        value = table.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0 \
                or value != value or value == float("inf"):
            raise fail(key, "must be a positive number of seconds")
        timeouts[key] = float(value)

    settings_model: type[BaseModel] = ADAPTERS[kind].Settings
    credentials = table.get("credentials", {})
    if not isinstance(credentials, dict):
        raise fail("credentials", "must be a table")
    try:
        settings = settings_model.model_validate(credentials)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"])
        # pydantic's own message never includes the input value here, so no secret leaks
        raise fail(f"credentials.{where}", error["msg"]) from None

    return ProviderInstance(
        name=name,
        kind=kind,
        base_url=base_url.rstrip("/"),
        settings=settings,
        policy=_policy(table.get("policy", {}), fail),
        currencies=_currencies(table.get("currencies"), fail),
        allow_insecure_http=allow_insecure_http,
        unset_variables=tuple(sorted(unset or ())),
        four_eyes_from=_four_eyes(table.get("four_eyes_from"), fail),
        **timeouts,
    )


def _four_eyes(raw: Any, fail: Any) -> tuple[tuple[str, Decimal], ...]:
    """`four_eyes_from = { EUR = "1000.00" }`: amounts as strings, like every amount we read."""
    if raw is None:
        return ()
    if not isinstance(raw, dict):
        raise fail("four_eyes_from", 'must be a table of currency = "amount", such as '
                                     '{ EUR = "1000.00" }')
    found: dict[str, Decimal] = {}
    for code, amount in raw.items():
        try:
            currency = parse_currency(code)
        except InvalidMoney:
            raise fail("four_eyes_from", f"{code!r} is not a currency code such as EUR") from None
        try:
            found[currency] = parse_amount(amount, f"four_eyes_from.{currency}")
        except InvalidMoney as exc:
            raise fail(exc.field, exc.message) from None
    return tuple(sorted(found.items()))


def _currencies(raw: Any, fail: Any) -> frozenset[str] | None:
    """The optional list of currencies the instance deals in; intake refuses any other."""
    if raw is None:
        return None
    if not isinstance(raw, list) or not raw:
        raise fail("currencies", "must be a non-empty list of currency codes such as [\"EUR\"]")
    codes = set()
    for code in raw:
        try:
            codes.add(parse_currency(code))  # the rule intake applies, so every code can match
        except InvalidMoney:
            raise fail("currencies", f"{code!r} is not a currency code such as EUR") from None
    return frozenset(codes)


def _policy(table: Any, fail: Any) -> Policy:
    if not isinstance(table, dict):
        raise fail("policy", "must be a table")
    values: dict[str, Any] = {}
    for key, raw in table.items():
        field = f"policy.{key}"
        try:
            if key in _DURATIONS:
                values[key] = parse_duration(raw)
            elif key == "schedule":
                if not isinstance(raw, list) or not raw:
                    raise ValueError("must be a non-empty list of durations")
                values[key] = tuple(parse_duration(step) for step in raw)
            elif key in _NUMBERS:
                if isinstance(raw, bool) or not isinstance(raw, int | float):
                    raise ValueError("must be a number")
                values[key] = _NUMBERS[key](raw)
            else:
                raise ValueError("unknown key")
        except ValueError as exc:
            raise fail(field, str(exc)) from None
    try:
        return Policy(**values)
    except ValueError as exc:
        raise fail("policy", str(exc)) from None
