"""One webhook pass, as the beat task runs it every second: fan out, claim what is due, dispatch.

Beat's task only claims; each claimed delivery travels as its own small task message (like the
sweep's checks), so slow subscribers occupy worker threads, not the beat pass. The command
line runs the same pass with the attempts made inline.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache

import requests
from sqlalchemy import Engine

from worker.process.settings import Settings
from worker.webhooks.claims import DeliveryClaim, claim_due
from worker.webhooks.config import Subscriber, load_subscribers
from worker.webhooks.delivery import attempt
from worker.webhooks.fanout import fan_out
from worker.webhooks.schedule import parse_schedule

FANOUT_LIMIT = 1000

Dispatch = Callable[[list[DeliveryClaim]], None]


@dataclass(frozen=True)
class WebhookSetup:
    subscribers: Mapping[str, Subscriber]
    schedule: tuple[timedelta, ...]
    lease: timedelta
    batch: int


def setup_from(settings: Settings) -> WebhookSetup:
    return WebhookSetup(
        subscribers=_subscribers(settings.webhooks_file),
        schedule=parse_schedule(settings.webhook_schedule),
        lease=timedelta(seconds=settings.webhook_lease_s),
        batch=settings.webhook_batch,
    )


def run_once(engine: Engine, setup: WebhookSetup, dispatch: Dispatch,
             now: datetime | None = None) -> dict[str, int]:
    now = now or datetime.now(UTC)
    counts = {"fanned_out": fan_out(engine, setup.subscribers, now, FANOUT_LIMIT)}
    for name in setup.subscribers:
        claims = claim_due(engine, name, now, setup.lease, setup.batch)
        if claims:
            dispatch(claims)
        counts[name] = len(claims)
    return counts


def attempt_claim(engine: Engine, setup: WebhookSetup, claim: DeliveryClaim) -> str:
    return attempt(engine, setup.subscribers, setup.schedule, claim, _http())


def inline(engine: Engine, setup: WebhookSetup) -> Dispatch:
    """A dispatch that makes the attempts here and now, one after another."""

    def dispatch(claims: list[DeliveryClaim]) -> None:
        for claim in claims:
            attempt_claim(engine, setup, claim)

    return dispatch


def _subscribers(path: str | None) -> Mapping[str, Subscriber]:
    return {} if path is None else _load(path, _changed(path))


def subscriber_secrets(path: str | None) -> tuple[str, ...]:
    """Every subscriber's secret and URL credentials, for the log mask: read from the file as
    deliveries read it, so a subscriber added while the process runs is masked too."""
    return () if path is None else _secrets(path, _changed(path))


def _changed(path: str) -> int:
    try:
        return os.stat(path).st_mtime_ns
    except FileNotFoundError:
        return 0  # load_subscribers then reports the missing file


@lru_cache(maxsize=4)
def _load(path: str, changed: int) -> Mapping[str, Subscriber]:
    # Keyed on the file's modification time: an edited file is read again, an unchanged one not.
    return load_subscribers(path)


@lru_cache(maxsize=4)
def _secrets(path: str, changed: int) -> tuple[str, ...]:
    return tuple(value for subscriber in _load(path, changed).values()
                 for value in subscriber.secret_values())


_local = threading.local()


def _http() -> requests.Session:
    # One session per worker thread: keep-alive to each subscriber, no pool shared across threads.
    session: requests.Session | None = getattr(_local, "session", None)
    if session is None:
        session = _local.session = requests.Session()
    return session
