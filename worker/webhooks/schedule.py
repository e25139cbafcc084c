"""The escalating retry schedule of a webhook delivery.

The first attempt is made as soon as the event is fanned out. After the n-th failed attempt
the delivery waits the n-th step of the schedule; after a failure with no step left it is
marked failed, and only `resolver webhooks redeliver` starts it again.
"""

from __future__ import annotations

from datetime import timedelta

from worker.process.config_files import ConfigError
from worker.process.config_types import parse_duration

DEFAULT_SCHEDULE = "10s,30s,2m,10m,30m,1h,3h"


def parse_schedule(text: str) -> tuple[timedelta, ...]:
    """'10s,30s,2m' -> the waits after the first, second, third failure."""
    steps = [part.strip() for part in text.split(",") if part.strip()]
    if not steps:
        raise ConfigError("RESOLVER_WEBHOOK_SCHEDULE: must list at least one duration")
    try:
        return tuple(parse_duration(step) for step in steps)
    except ValueError as exc:
        raise ConfigError(f"RESOLVER_WEBHOOK_SCHEDULE: {exc}") from None


def wait_after(failures: int, schedule: tuple[timedelta, ...]) -> timedelta | None:
    """How long to wait after this many failed attempts; None when the schedule is spent."""
    if failures < 1:
        raise ValueError("a wait follows at least one failure")
    return schedule[failures - 1] if failures <= len(schedule) else None
