"""Logging for the worker and beat: plain or JSON lines, and no secret in any of them.

Secrets are kept out of log calls in the first place; the filter here is the second line: it
replaces every configured provider secret and admin token in a record's final text.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from worker.runtime import Runtime

MASK = "********"


class SecretMask(logging.Filter):
    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        # Longest first, so a secret that contains another is masked whole.
        self.secrets = sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True)

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        text = record.getMessage()
        masked = text
        for secret in self.secrets:
            masked = masked.replace(secret, MASK)
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


def secrets_of(rt: Runtime) -> list[str]:
    """Every secret this process knows: provider credentials and admin tokens."""
    found = [s for instance in rt.providers.values() for s in instance.secret_values()]
    settings = rt.settings
    if settings.admin_token:
        found.append(settings.admin_token)
    for entry in (settings.admin_tokens or "").split(","):
        found.append(entry.rsplit(":", 1)[-1].strip())
    return [secret for secret in found if secret]


def uvicorn_config(secrets: Iterable[str], as_json: bool) -> dict[str, Any]:
    """uvicorn's own logging configuration, with the secret mask on every handler."""
    import copy

    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["filters"] = {"secrets": {"()": SecretMask, "secrets": list(secrets)}}
    for handler in config["handlers"].values():
        handler["filters"] = ["secrets"]
    if as_json:
        config["formatters"] = {name: {"()": JsonLines} for name in config["formatters"]}
    return config


def install(logger: logging.Logger, secrets: Iterable[str], as_json: bool) -> None:
    mask = SecretMask(secrets)
    for handler in logger.handlers:
        handler.addFilter(mask)
        if as_json:
            handler.setFormatter(JsonLines())
