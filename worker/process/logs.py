"""Logging for the worker, beat and admin server: readable or JSON lines, and no secret in any.

The engine logs with structlog: each line is an event with fields (`transfer_id`, `provider`,
`tx_id`, `attempt`, `outcome`, ...), so one transfer's history is a grep away. structlog hands its
events to the standard library's handlers (`install` sets them up), so one formatter renders
structlog's lines and everybody else's (Celery's, urllib3's) alike: `key=value` for a terminal,
one JSON object a line with RESOLVER_LOG_FORMAT=json.

Secrets are kept out of log calls in the first place; the filter here is the second line: it
replaces every configured provider secret, admin token, webhook subscriber secret and credential
carried in a subscriber's URL (user info, query string: urllib3 logs the request line at DEBUG)
in a record's final text. Subscribers follow their file while the process runs, so the mask
reads its secrets through a function and re-reads them when they change.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

if TYPE_CHECKING:
    from worker.process.runtime import Runtime

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
        if isinstance(record.msg, dict):  # a structlog event: its fields, rendered later
            record.msg = {key: self._mask_value(value) for key, value in record.msg.items()}
        else:
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

    def _mask_value(self, value: object) -> object:
        """A field as it will be rendered, masked; numbers and the like stay as they are."""
        if value is None or isinstance(value, bool | int | float):
            return value
        text = value if isinstance(value, str) else str(value)
        masked = self._mask(text)
        return masked if masked != text else value


# What every line starts with, in this order; the event's own fields follow.
LEADING = ("timestamp", "level", "logger", "event")


def _leading_first(_: WrappedLogger, __: str, event: EventDict) -> EventDict:
    ordered = {key: event.pop(key) for key in LEADING if key in event}
    ordered.update(event)
    return ordered


def _traceback_of_foreign(_: WrappedLogger, __: str, event: EventDict) -> EventDict:
    """A standard-library record's traceback, as SecretMask left it (masked, as text)."""
    record = event.get("_record")
    if record is not None and record.exc_text:
        event["exception"] = record.exc_text
        event.pop("exc_info", None)
    return event


# Added to every line, structlog's and the standard library's.
_COMMON: list[Processor] = [
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
]


def formatter(as_json: bool) -> logging.Formatter:
    """The handlers' formatter: JSON lines, or `key=value` lines for a terminal."""
    renderer: Processor = (structlog.processors.JSONRenderer(default=str) if as_json
                           else structlog.dev.ConsoleRenderer(colors=False, sort_keys=False))
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*_COMMON, _traceback_of_foreign],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    structlog.processors.format_exc_info, _leading_first, renderer],
    )


def json_formatter() -> logging.Formatter:
    return formatter(as_json=True)


def console_formatter() -> logging.Formatter:
    return formatter(as_json=False)


_configured = False


def configure() -> None:
    """Once per process: structlog events go to the standard library's logger of their name.

    Levels are the standard library's (Celery's --loglevel): an event below its logger's level
    is dropped by the first processor, before anything is rendered. Tracebacks are turned into
    text here, so SecretMask sees them as a field.
    """
    global _configured
    if _configured:
        return
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            structlog.contextvars.merge_contextvars,
            *_COMMON,
            structlog.processors.format_exc_info,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    # A process that set up no handler (a command-line tool) still writes its warnings as
    # lines, not as the event's dict.
    if logging.lastResort is not None:
        logging.lastResort.setFormatter(formatter(as_json=False))
    _configured = True


def get(name: str) -> structlog.stdlib.BoundLogger:
    """A module's structlog logger (configured on first use)."""
    configure()
    logger: structlog.stdlib.BoundLogger = structlog.get_logger(name)
    return logger


def secret_source(runtime: Runtime) -> Callable[[], tuple[str, ...]]:
    """Every secret this process knows, as a function for `SecretMask`: provider credentials
    and admin tokens as at start-up, webhook subscribers' as their file says now."""
    from worker.webhooks.runner import subscriber_secrets

    found = [s for instance in runtime.providers.values() for s in instance.secret_values()]
    settings = runtime.settings
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
    # The application's own lines (an admin's resolution, say) go through the root logger.
    config["formatters"]["lines"] = {"()": console_formatter}
    config["handlers"]["lines"] = {"formatter": "lines", "class": "logging.StreamHandler",
                                   "stream": "ext://sys.stderr"}
    config["root"] = {"handlers": ["lines"], "level": "INFO"}
    for handler in config["handlers"].values():
        handler["filters"] = ["secrets"]
    if as_json:
        config["formatters"] = {name: {"()": json_formatter} for name in config["formatters"]}
    return config


def install(logger: logging.Logger, secrets: Secrets, as_json: bool) -> None:
    """Mask secrets on every handler of `logger`, and render its lines in the chosen format."""
    configure()
    mask = SecretMask(secrets)
    for handler in logger.handlers:
        handler.addFilter(mask)
        handler.setFormatter(formatter(as_json))
