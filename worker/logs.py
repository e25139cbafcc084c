"""Logging for the worker, beat and admin server: plain or JSON lines, and no secret in any.

Secrets are kept out of log calls in the first place; the filter here is the second line: it
replaces every configured provider secret, admin token, webhook subscriber secret and credential
carried in a subscriber's URL (user info, query string: urllib3 logs the request line at DEBUG)
in a record's final text. Subscribers follow their file while the process runs, so the mask
reads its secrets through a function and re-reads them when they change.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from worker.runtime import Runtime

MASK = "********"


Secrets = Iterable[str] | Callable[[], Iterable[str]]


class SecretMask(logging.Filter):
    """Masks `secrets`: a fixed list, or a function giving the current one."""

    def __init__(self, secrets: Secrets) -> None:
        super().__init__()
        self._source = secrets if callable(secrets) else None
        self._known: tuple[str, ...] | None = None
        self.secrets: list[str] = []
        if callable(secrets):
            self._current()
        else:
            self._learn(tuple(secrets))

    def _learn(self, secrets: tuple[str, ...]) -> None:
        if secrets != self._known:
            self._known = secrets
            # Longest first, so a secret that contains another is masked whole.
            self.secrets = sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True)

    def _current(self) -> list[str]:
        if self._source is not None:
            # A log call must never fail (say the subscribers file was broken meanwhile):
            # keep masking what we knew.
            with contextlib.suppress(Exception):
                self._learn(tuple(self._source()))
        return self.secrets

    def filter(self, record: logging.LogRecord) -> bool:
        if not self._current():
            return True
        text = record.getMessage()
        masked = self._mask(text)
        if masked != text:
            record.msg, record.args = masked, None
        if record.exc_info and record.exc_info[1] is not None:
            # The formatted traceback is built later; fix its text now.
            record.exc_text = self._mask(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True

    def _mask(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, MASK)
        return text


class JsonLines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_text:
            entry["error"] = record.exc_text
        elif record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def secret_source(rt: Runtime) -> Callable[[], tuple[str, ...]]:
    """Every secret this process knows, as a function for `SecretMask`: provider credentials
    and admin tokens as at start-up, webhook subscribers' as their file says now."""
    from worker.webhooks.runner import subscriber_secrets

    found = [s for instance in rt.providers.values() for s in instance.secret_values()]
    settings = rt.settings
    if settings.admin_token:
        found.append(settings.admin_token)
    for entry in (settings.admin_tokens or "").split(","):
        found.append(entry.rsplit(":", 1)[-1].strip())
    fixed = tuple(secret for secret in found if secret)
    webhooks_file = settings.webhooks_file

    def current() -> tuple[str, ...]:
        return fixed + subscriber_secrets(webhooks_file)

    return current


def uvicorn_config(secrets: Secrets, as_json: bool) -> dict[str, Any]:
    """uvicorn's own logging configuration, with the secret mask on every handler."""
    import copy

    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["filters"] = {"secrets": {"()": SecretMask, "secrets": secrets}}
    for handler in config["handlers"].values():
        handler["filters"] = ["secrets"]
    if as_json:
        config["formatters"] = {name: {"()": JsonLines} for name in config["formatters"]}
    return config


def install(logger: logging.Logger, secrets: Secrets, as_json: bool) -> None:
    mask = SecretMask(secrets)
    for handler in logger.handlers:
        handler.addFilter(mask)
        if as_json:
            handler.setFormatter(JsonLines())
