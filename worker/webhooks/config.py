"""Webhook subscribers, from the TOML file named by RESOLVER_WEBHOOKS_FILE.

    [subscribers.NAME]
    url = "https://finance.example.com/hooks/resolver"
    secret = "${FINANCE_WEBHOOK_SECRET}"           # whsec_<base64 of 24 to 64 bytes>
    previous_secret = "${FINANCE_WEBHOOK_SECRET_OLD}"   # optional, while rotating
    types = ["transfer.resolved", "transfer.manually_resolved"]   # default: every type
    timeout_s = 10            # read timeout, optional
    connect_timeout_s = 3     # optional

`${VAR}` is read from the environment, as in the provider file. With `previous_secret` set, every
delivery is signed with both secrets, so the receiver may switch to the new one at its own pace;
remove it once the receiver has. A mistake stops start-up with
one message naming the file, the subscriber and the field, never the secret. A URL may carry
credentials of its own (`?token=…`, `https://user:pass@…`): they are masked in logs like the secret.
"""

from __future__ import annotations

import base64
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from requests.utils import requote_uri

from worker.engine.resolve import events
from worker.process.config_files import ConfigError, named_table, read_toml, validated
from worker.process.config_types import Timeout
from worker.webhooks.signing import SECRET_PREFIX, secret_problem

EVENT_TYPES = frozenset({events.RESOLVED, events.MANUALLY_RESOLVED, events.NEEDS_REVIEW})
_URL = re.compile(r"^https?://[^\s/]+")
# A query value shorter than this is not masked on its own (the whole query string always is):
# it is no token worth the name, and masking "json" or "true" would garble unrelated log lines.
_MASKED_VALUE_CHARS = 8


@dataclass(frozen=True)
class Subscriber:
    name: str
    url: str
    secret: str = field(repr=False)
    types: frozenset[str] = EVENT_TYPES
    timeout_s: float = 10.0
    connect_timeout_s: float = 3.0
    previous_secret: str | None = field(default=None, repr=False)

    def wants(self, event_type: str) -> bool:
        return event_type in self.types

    def signing_secrets(self) -> list[str]:
        """The current secret first, then the one being retired, if any."""
        return [self.secret] + ([self.previous_secret] if self.previous_secret else [])

    def secret_values(self) -> list[str]:
        """What must never reach a log: the signing secrets (with and without their `whsec_`
        prefix) and the URL's own credentials."""
        keys = self.signing_secrets()
        bare = [key.removeprefix(SECRET_PREFIX) for key in keys]
        return list(dict.fromkeys([*keys, *bare, *url_credentials(self.url)]))

    def describe(self) -> dict[str, Any]:
        """For listings: everything but the secrets (and a query string, which may hold a
        token). `rotating` says a previous secret still signs, to be removed once the
        receiver has switched."""
        shown = self.url.split("?", 1)[0] + ("?…" if "?" in self.url else "")
        return {"name": self.name, "url": shown, "types": sorted(self.types),
                "timeout_s": self.timeout_s, "connect_timeout_s": self.connect_timeout_s,
                "rotating": self.previous_secret is not None}


def url_credentials(url: str) -> list[str]:
    """The user info and query string of a URL, in the forms a log line may show them: as
    written, as requests sends them (re-quoted), decoded, and as a Basic token."""
    parts = urlsplit(url)
    found: list[str] = []
    userinfo = parts.netloc.rpartition("@")[0]
    if userinfo:
        user, _, password = userinfo.partition(":")
        pair = f"{unquote(user)}:{unquote(password)}"
        found += [userinfo, pair, base64.b64encode(pair.encode()).decode()]
        found += [password, unquote(password)] if password else []
    if parts.query:
        found += [parts.query, requote_uri(parts.query)]
        raw_values = [pair.partition("=")[2] for pair in parts.query.split("&")]
        decoded = [value for _, value in parse_qsl(parts.query, keep_blank_values=True)]
        found += [v for v in raw_values + decoded if len(v) >= _MASKED_VALUE_CHARS]
    return list(dict.fromkeys(value for value in found if value))


def load_subscribers(path: str | os.PathLike[str] | None) -> dict[str, Subscriber]:
    """No file configured means no subscribers."""
    if path is None:
        return {}
    document = read_toml(path, "webhooks file not found (RESOLVER_WEBHOOKS_FILE)")
    return parse_subscribers(document, str(Path(path)))


def parse_subscribers(document: dict[str, Any], source: str) -> dict[str, Subscriber]:
    unknown = set(document) - {"subscribers"}
    if unknown:
        raise ConfigError(f"{source}: unknown top-level key {sorted(unknown)[0]!r}")
    tables = document.get("subscribers", {})
    if not isinstance(tables, dict):
        raise ConfigError(f"{source}: subscribers must be a table of [subscribers.NAME]")
    return {name: _subscriber(source, name, table) for name, table in tables.items()}


class SubscriberTable(BaseModel):
    """`[subscribers.NAME]`; the fields are checked in this order, the first mistake reported.
    No message repeats a value: a secret, even a wrong one, stays out of it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str = Field(None, validate_default=True)
    secret: str = Field(None, validate_default=True)
    previous_secret: str | None = None
    types: frozenset[str] = EVENT_TYPES
    timeout_s: Timeout = 10.0  # read timeout
    connect_timeout_s: Timeout = 3.0

    @field_validator("url", mode="plain")
    @classmethod
    def _url(cls, value: object) -> str:
        if not isinstance(value, str) or not _URL.match(value):
            raise ValueError("must be an http:// or https:// URL")
        return value

    @field_validator("secret", mode="plain")
    @classmethod
    def _secret(cls, value: object) -> str:
        if not isinstance(value, str) or not value:
            raise ValueError("must be a non-empty string (use ${VAR} to read it from the "
                             "environment)")
        return _signing_key(value)

    @field_validator("previous_secret", mode="plain")
    @classmethod
    def _previous_secret(cls, value: object, info: ValidationInfo) -> str:
        if not isinstance(value, str) or not value:
            raise ValueError("must be a non-empty string, or left out")
        if value == info.data.get("secret"):
            raise ValueError("is the same as secret; leave it out once the rotation is over")
        return _signing_key(value)

    @field_validator("types", mode="plain")
    @classmethod
    def _types(cls, value: object) -> frozenset[str]:
        if not isinstance(value, list) or not value \
                or not all(isinstance(item, str) for item in value):
            raise ValueError("must be a non-empty list of event types")
        unknown = set(value) - EVENT_TYPES
        if unknown:
            raise ValueError(f"unknown event type {sorted(unknown)[0]!r}; expected some of "
                             f"{', '.join(sorted(EVENT_TYPES))}")
        return frozenset(value)


def _signing_key(value: str) -> str:
    problem = secret_problem(value)
    if problem:
        raise ValueError(problem)
    return value


def _subscriber(source: str, name: str, table: Any) -> Subscriber:
    table, fail = named_table(source, "subscribers", name, table)
    read = validated(SubscriberTable, table, fail)
    return Subscriber(name=name, url=read.url, secret=read.secret, types=read.types,
                      previous_secret=read.previous_secret, timeout_s=read.timeout_s,
                      connect_timeout_s=read.connect_timeout_s)
